"""The numbers of a bucketed list (``storage.listing``): one counter document per list key
in ``list_counters``, advanced with ``$inc``, handed out in blocks by a busy process.

Where the server loses an increment under concurrency (FerretDB does not make a
read-modify-write atomic), two documents share a number: their bucket holds one more, and
nothing else changes.

A list that loses members from its front (a waitlist) keeps a **head** (``Head``): the lowest
bucket that may still hold a member. A number is used a moment after it was taken (a block's
up to ``BlockSequences.BLOCK_TTL_S`` later, then its document is written), so one walk that
finds the front buckets empty cannot tell them emptied from not written yet. It records what
it saw; a walk ``HEAD_CONFIRM`` later that finds them empty again moves the head past them:
every number of those buckets was taken before the first walk, so their writes have landed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Protocol

from pymongo import ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

COUNTERS = "list_counters"
Together = Callable[..., dict[str, Any]]  # ``Storage.together``: reads by name, made at once
HEAD_CONFIRM = timedelta(seconds=30)  # far longer than a block lives and a write takes


@dataclass(frozen=True)
class Head:
    """A list's head: ``bucket``, the lowest that may hold a member, and the last sighting: a
    walk that read the list's top at ``seen_at`` found every bucket below ``seen`` empty."""

    bucket: int = 0
    seen: int = 0
    seen_at: datetime | None = None

    def after_walk(self, empty_below: int, started: datetime) -> Head:
        """The head once a walk that read the top at ``started`` found every bucket below
        ``empty_below`` empty (at most the top's bucket less one: the newest two are never
        passed). The head moves past what two walks ``HEAD_CONFIRM`` apart both found empty."""
        if empty_below <= self.bucket:
            return self
        if self.seen_at is None or self.seen <= self.bucket:
            return Head(self.bucket, empty_below, started)  # the first sighting
        if started - self.seen_at < HEAD_CONFIRM:
            return self  # too soon to confirm: a write of those buckets may still be on its way
        return Head(max(self.bucket, min(self.seen, empty_below)), empty_below, started)

    @classmethod
    def of(cls, stored: dict[str, Any] | None) -> Head:
        if not stored:
            return cls()
        seen_at = stored.get("seen_at")
        if seen_at is not None and seen_at.tzinfo is None:
            seen_at = seen_at.replace(tzinfo=UTC)  # BSON dates are UTC
        return cls(int(stored.get("head", 0)), int(stored.get("seen", 0)), seen_at)


class Sequences(Protocol):
    def take(self, key: str) -> int:
        """The next number of ``key``'s sequence (0, 1, ...)."""
        ...

    def take_many(self, key: str, count: int) -> int:
        """``count`` consecutive numbers of ``key``'s sequence; answers the first."""
        ...

    def take_each(self, counts: dict[str, int]) -> dict[str, int]:
        """``take_many`` for several sequences at once (a document placed in three lists): the
        first number taken of each key."""
        ...

    def top(self, key: str) -> int:
        """The highest number taken in ``key``'s sequence; -1 when none."""
        ...

    def head(self, key: str) -> Head:
        """The head of ``key``'s list (bucket 0, nothing seen, unless moved)."""
        ...

    def move_head(self, key: str, head: Head) -> None:
        """Store a head a walk moved on (``Head.after_walk``); never moves its bucket back."""
        ...


class MongoSequences:
    """``together``: how several reads are made at once (``Storage.together``): the counters of
    one document's lists are then advanced at once, not one write after another."""

    def __init__(self, db: Database, together: Together | None = None) -> None:
        self.counters = db[COUNTERS]
        self.together = together

    def take(self, key: str) -> int:
        return self.take_many(key, 1)

    def take_each(self, counts: dict[str, int]) -> dict[str, int]:
        if self.together is None or len(counts) < 2:
            return {key: self.take_many(key, count) for key, count in counts.items()}
        return self.together(**{key: partial(self.take_many, key, n) for key, n in counts.items()})

    def take_many(self, key: str, count: int) -> int:
        for _attempt in range(3):
            try:
                counter = self.counters.find_one_and_update(
                    {"_id": key},  # index: _id
                    {"$inc": {"taken": count}},
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                )
                return int(counter["taken"]) - count
            except DuplicateKeyError:  # two first takers raced on the upsert: count again
                continue
        raise RuntimeError(f"list counter {key!r}: upsert kept clashing")

    def top(self, key: str) -> int:
        counter = self.counters.find_one({"_id": key}, {"taken": 1})  # index: _id
        return int(counter["taken"]) - 1 if counter else -1

    def head(self, key: str) -> Head:
        return Head.of(self.counters.find_one({"_id": key}))  # index: _id

    def move_head(self, key: str, head: Head) -> None:
        # Any sighting written is true of its moment, so racing walks (even a lost update on
        # FerretDB) can only keep the head back, never move it past a member.
        self.counters.update_one(
            {"_id": key},  # index: _id
            {"$max": {"head": head.bucket}, "$set": {"seen": head.seen, "seen_at": head.seen_at}},
            upsert=True,
        )


@dataclass
class _Block:
    next: int
    end: int
    size: int
    taken_at: float


class BlockSequences:
    """A sequence that hands out numbers in blocks taken by this process (one counter write per
    block, not per number). A block's number may be used a moment after later numbers were: a
    head passes a bucket only once two walks ``HEAD_CONFIRM`` apart found it empty (``Head``).

    A block lives ``BLOCK_TTL_S`` at most; its unused numbers are given up (a bucket holds
    fewer). Its size follows the demand: it doubles (up to ``MAX_BLOCK``) while blocks run out
    within their lifetime and halves when they do not, so a quiet list takes one number at a
    time, exactly as before, and a busy one a block per second. Lists stay oldest first within
    a bucket (by ``_id``) and, across the buckets of one list, to within ``BLOCK_TTL_S``.
    """

    BLOCK_TTL_S = 1.0
    MAX_BLOCK = 64

    def __init__(self, inner: Sequences) -> None:
        self.inner = inner
        self._blocks: dict[str, _Block] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> int:
        return self.take_many(key, 1)

    def take_many(self, key: str, count: int) -> int:
        return self.take_each({key: count})[key]

    def take_each(self, counts: dict[str, int]) -> dict[str, int]:
        firsts: dict[str, int] = {}
        wanted: dict[str, int] = {}
        sizes: dict[str, int] = {}
        now = time.monotonic()
        with self._lock:
            for key, count in counts.items():
                block = self._blocks.get(key)
                if block is not None and now - block.taken_at < self.BLOCK_TTL_S:
                    if block.next + count <= block.end:
                        firsts[key] = block.next
                        block.next += count
                        continue
                    sizes[key] = min(block.size * 2, self.MAX_BLOCK)  # ran out in its lifetime
                else:
                    sizes[key] = max(1, block.size // 2) if block is not None else 1
                wanted[key] = max(sizes[key], counts[key])
        if not wanted:
            return firsts
        # Taken outside the lock: a take of another list does not wait for this write (two
        # takes of one list both write: the block kept is the later one, the other's unused
        # numbers are given up). A block's life counts from before its write.
        taken = self.inner.take_each(wanted)
        with self._lock:
            for key, first in taken.items():
                self._blocks[key] = _Block(
                    first + counts[key], first + wanted[key], sizes[key], now
                )
                firsts[key] = first
        return firsts

    def top(self, key: str) -> int:
        return self.inner.top(key)

    def head(self, key: str) -> Head:
        return self.inner.head(key)

    def move_head(self, key: str, head: Head) -> None:
        self.inner.move_head(key, head)


class InMemorySequences:
    def __init__(self) -> None:
        self.taken: dict[str, int] = {}
        self.heads: dict[str, Head] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> int:
        return self.take_many(key, 1)

    def take_many(self, key: str, count: int) -> int:
        with self._lock:
            self.taken[key] = self.taken.get(key, 0) + count
            return self.taken[key] - count

    def take_each(self, counts: dict[str, int]) -> dict[str, int]:
        return {key: self.take_many(key, count) for key, count in counts.items()}

    def top(self, key: str) -> int:
        return self.taken.get(key, 0) - 1

    def head(self, key: str) -> Head:
        return self.heads.get(key, Head())

    def move_head(self, key: str, head: Head) -> None:
        with self._lock:
            bucket = max(self.heads.get(key, Head()).bucket, head.bucket)
            self.heads[key] = Head(bucket, head.seen, head.seen_at)
