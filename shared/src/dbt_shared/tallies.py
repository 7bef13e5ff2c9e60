"""Counts kept as they change: the numbers a page shows (a waitlist's stages, a caseload).

A ``count`` on FerretDB v1 decodes every document it counts, so a page that shows six counts
of a site's waiting referrals would cost what the site has waiting, six times. A tally is one
small document per key, read by ``_id``, adjusted by the write that changes what it counts.

- ``adjust`` is ``$inc``: atomic on MongoDB; on FerretDB (which applies an update as an unlocked
  read-then-write) it runs under the key's ``DocumentLock``, so concurrent writers lose nothing.
- A process killed between a write and its tally adjustment leaves the tally off by that one
  write: ``reconcile`` recounts a key from the source under the same lock (a slow timer does it),
  so a tally is exact again within the hour and never drifts for good.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from dbt_shared.documents import DocumentLock, needs_write_lock

TALLIES = "tallies"


class Tallies(Protocol):
    def adjust(self, key: str, deltas: dict[str, int], **tags: Any) -> None:
        """Add ``deltas`` (field -> change) to ``key``'s tally; ``tags`` are stored beside the
        counts (equality fields to find the tallies by, such as ``site_id``)."""
        ...

    def get(self, key: str) -> dict[str, Any]:
        """``key``'s tally (``{}`` when nothing was counted yet)."""
        ...

    def find(self, tags: dict[str, Any]) -> list[dict[str, Any]]:
        """The tallies whose tags equal ``tags`` (a few documents: a site's programs)."""
        ...

    def reconcile(
        self, key: str, count: Callable[[], dict[str, int]], **tags: Any
    ) -> dict[str, int]:
        """Recount ``key`` from the source (``count``) with no adjustment in between; answers
        the counts."""
        ...


class MongoTallies:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.collection = db[TALLIES]

    def _locked(self, key: str):
        if needs_write_lock(self.db):
            return DocumentLock(self.db, f"{TALLIES}/{key}")
        return _NoLock()

    def adjust(self, key, deltas, **tags):
        deltas = {field: n for field, n in deltas.items() if n}
        if not deltas:
            return
        update: dict[str, Any] = {"$inc": deltas}
        if tags:
            update["$set"] = tags
        with self._locked(key):
            try:
                self.collection.update_one({"_id": key}, update, upsert=True)  # index: _id
            except DuplicateKeyError:  # a first adjustment raced (MongoDB, no lock): again
                self.collection.update_one({"_id": key}, update)

    def get(self, key):
        found = self.collection.find_one({"_id": key}, {"_id": 0})  # index: _id
        return found or {}

    def find(self, tags):
        return list(self.collection.find(tags, {"_id": 0}))

    def reconcile(self, key, count, **tags):
        with self._locked(key):
            counts = count()
            self.collection.replace_one({"_id": key}, {**tags, **counts}, upsert=True)
        return counts


class _NoLock:
    def __enter__(self) -> _NoLock:
        return self

    def __exit__(self, *_exc: object) -> None:
        return None


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
            dict(t) for t in self.tallies.values() if all(t.get(k) == v for k, v in tags.items())
        ]

    def reconcile(self, key, count, **tags):
        with self._lock:
            counts = count()
            self.tallies[key] = {**tags, **counts}
        return counts
