"""The numbers of a bucketed list (``dbt_shared.listing``): one counter document per list key
in ``list_counters``, advanced with ``$inc``; for lists without a head, handed out in blocks.

Where the server loses an increment under concurrency (FerretDB does not make a
read-modify-write atomic), two documents share a number: their bucket holds one more, and
nothing else changes.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Protocol

from pymongo import ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

COUNTERS = "list_counters"


class Sequences(Protocol):
    def take(self, key: str) -> int:
        """The next number of ``key``'s sequence (0, 1, ...)."""
        ...

    def take_many(self, key: str, count: int) -> int:
        """``count`` consecutive numbers of ``key``'s sequence; answers the first."""
        ...

    def top(self, key: str) -> int:
        """The highest number taken in ``key``'s sequence; -1 when none."""
        ...

    def head(self, key: str) -> int:
        """The lowest bucket of ``key``'s list that may hold a member (0 unless moved)."""
        ...

    def advance_head(self, key: str, bucket: int) -> None: ...


class MongoSequences:
    def __init__(self, db: Database) -> None:
        self.counters = db[COUNTERS]

    def take(self, key: str) -> int:
        return self.take_many(key, 1)

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

    def head(self, key: str) -> int:
        counter = self.counters.find_one({"_id": key}, {"head": 1})  # index: _id
        return int(counter.get("head", 0)) if counter else 0

    def advance_head(self, key: str, bucket: int) -> None:
        self.counters.update_one({"_id": key}, {"$max": {"head": bucket}}, upsert=True)


@dataclass
class _Block:
    next: int
    end: int
    size: int
    taken_at: float


class BlockSequences:
    """A sequence that hands out numbers in blocks taken by this process (one counter write per
    block, not per number), for lists **without a head** only (a trail, an inbox): a block's
    number may be used a moment after later numbers were, which a head could pass.

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
        with self._lock:
            now = time.monotonic()
            block = self._blocks.get(key)
            if block is not None and now - block.taken_at < self.BLOCK_TTL_S:
                if block.next + count <= block.end:
                    first = block.next
                    block.next += count
                    return first
                size = min(block.size * 2, self.MAX_BLOCK)  # ran out within its lifetime
            else:
                size = max(1, block.size // 2) if block is not None else 1
            wanted = max(size, count)
            first = self.inner.take_many(key, wanted)
            self._blocks[key] = _Block(first + count, first + wanted, size, now)
            return first

    def top(self, key: str) -> int:
        return self.inner.top(key)

    def head(self, key: str) -> int:
        return self.inner.head(key)

    def advance_head(self, key: str, bucket: int) -> None:
        raise TypeError("a list with a head takes its numbers one by one (MongoSequences)")


class InMemorySequences:
    def __init__(self) -> None:
        self.taken: dict[str, int] = {}
        self.heads: dict[str, int] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> int:
        return self.take_many(key, 1)

    def take_many(self, key: str, count: int) -> int:
        with self._lock:
            self.taken[key] = self.taken.get(key, 0) + count
            return self.taken[key] - count

    def top(self, key: str) -> int:
        return self.taken.get(key, 0) - 1

    def head(self, key: str) -> int:
        return self.heads.get(key, 0)

    def advance_head(self, key: str, bucket: int) -> None:
        with self._lock:
            self.heads[key] = max(self.heads.get(key, 0), bucket)
