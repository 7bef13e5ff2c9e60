"""Counts kept as they change: the numbers a page shows (a waitlist's stages, a caseload).

A ``count`` on FerretDB v1 decodes every document it counts, so a page that shows six counts
of a site's waiting referrals would cost what the site has waiting, six times. A tally is one
small document per key, read by ``_id``, adjusted by the write that changes what it counts.

- ``adjust`` is ``$inc``: atomic on MongoDB; on FerretDB (which applies an update as an unlocked
  read-then-write) each process adjusts a document of its own, so concurrent writers lose
  nothing and never wait for one another.
- A process killed between a write and its tally adjustment leaves the tally off by that one
  write: ``reconcile`` recounts a key from the source under the same lock (a slow timer does it),
  so a tally is exact again within the hour and never drifts for good.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from typing import Any, Protocol

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from dbt_shared.documents import DocumentLock, needs_write_lock

TALLIES = "tallies"
# Every tally write of this process goes through one lock: its documents have one writer.
_PROCESS_WRITES = threading.Lock()


class Tallies(Protocol):
    def adjust(self, key: str, deltas: dict[str, int], **tags: Any) -> None:
        """Add ``deltas`` (field -> change) to ``key``'s tally; ``tags`` are stored beside the
        counts (equality fields to find the tallies by, such as ``site_id``)."""
        ...

    def get(self, key: str) -> dict[str, Any]:
        """``key``'s tally (``{}`` when nothing was counted yet)."""
        ...

    def find(self, tags: dict[str, Any]) -> list[dict[str, Any]]:
        """The tallies whose tags equal ``tags`` (a few documents: a site's programs), each with
        its ``key``."""
        ...

    def reconcile(
        self, key: str, count: Callable[[], dict[str, int]], **tags: Any
    ) -> dict[str, int]:
        """Recount ``key`` from the source (``count``) with no adjustment in between; answers
        the counts."""
        ...


class MongoTallies:
    """One tally document per key and writer: on MongoDB one per key (``$inc`` is atomic); on
    FerretDB one per key and process, each written only by its process (under a thread lock),
    so no two writers ever read-modify-write the same document and no lock document is needed
    on the hot path. A tally is the sum of its key's documents (a handful: the processes that
    wrote since the last recount, which folds them into one)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.collection = db[TALLIES]

    def _shard(self) -> str:
        return f"{socket.gethostname()}:{os.getpid()}" if needs_write_lock(self.db) else BASE

    def adjust(self, key, deltas, **tags):
        deltas = {field: n for field, n in deltas.items() if n}
        if not deltas:
            return
        shard = self._shard()
        update: dict[str, Any] = {"$inc": deltas, "$set": {**tags, "key": key, "shard": shard}}
        with _PROCESS_WRITES:  # this process's writes to its own documents, one at a time
            try:
                self.collection.update_one({"_id": f"{key}#{shard}"}, update, upsert=True)
            except DuplicateKeyError:  # a first adjustment raced (MongoDB): again
                self.collection.update_one({"_id": f"{key}#{shard}"}, update)

    def get(self, key):
        return _summed(self.collection.find({"key": key}, {"_id": 0}))  # index: key

    def find(self, tags):
        by_key: dict[str, list[dict[str, Any]]] = {}
        for doc in self.collection.find(tags, {"_id": 0}):  # index: site_kind
            by_key.setdefault(doc["key"], []).append(doc)
        return [{**_summed(docs), "key": key} for key, docs in by_key.items()]

    def reconcile(self, key, count, **tags):
        # The recount folds every writer's document into one. A writer adjusting between the
        # count and the fold is off until the next recount (the same bound as a killed one).
        with DocumentLock(self.db, f"{TALLIES}/{key}"):
            counts = count()
            base = {**tags, **counts, "key": key, "shard": BASE}
            self.collection.replace_one({"_id": f"{key}#{BASE}"}, base, upsert=True)
            for doc in self.collection.find({"key": key}, {"shard": 1}):  # index: key
                if doc["shard"] != BASE:
                    self.collection.delete_one({"_id": doc["_id"]})
        return counts


BASE = "base"
_TAG_FIELDS = ("key", "shard")


def _summed(docs) -> dict[str, Any]:
    total: dict[str, Any] = {}
    for doc in docs:
        for field, value in doc.items():
            if field in _TAG_FIELDS:
                continue
            if isinstance(value, int) and not isinstance(value, bool):
                total[field] = total.get(field, 0) + value
            else:
                total[field] = value
    return total


def ensure_indexes(db: Database) -> None:
    db[TALLIES].create_index("key", name="key")
    db[TALLIES].create_index([("site_id", 1), ("kind", 1)], name="site_kind")


class InMemoryTallies:
    def __init__(self) -> None:
        self.tallies: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def adjust(self, key, deltas, **tags):
        with self._lock:
            tally = self.tallies.setdefault(key, {})
            tally.update(tags)
            for field, n in deltas.items():
                tally[field] = tally.get(field, 0) + n

    def get(self, key):
        return dict(self.tallies.get(key, {}))

    def find(self, tags):
        return [
            {**t, "key": key}
            for key, t in self.tallies.items()
            if all(t.get(k) == v for k, v in tags.items())
        ]

    def reconcile(self, key, count, **tags):
        with self._lock:
            counts = count()
            self.tallies[key] = {**tags, **counts}
        return counts
