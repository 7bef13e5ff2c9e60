"""Counts kept as they change: the numbers a page shows (a waitlist's stages, a caseload).

A ``count`` on FerretDB v1 decodes every document it counts, so a page that shows six counts
of a site's waiting referrals would cost what the site has waiting, six times. A tally is one
small document per key, read by ``_id``, adjusted by the write that changes what it counts.

- ``adjust`` is ``$inc``: atomic on MongoDB; on FerretDB (which applies an update as an unlocked
  read-then-write) each process adjusts a document of its own, so concurrent writers lose
  nothing and never wait for one another.
- A process adds up its adjustments for ``FLUSH_EVERY_S`` and writes them as one ``$inc`` per
  tally (a busy waitlist: one write per tenth of a second, not one per referral). Its own reads
  include what it has not written yet; another process sees it that moment later.
- A process killed between a write and its tally adjustment (or before its adjustments were
  written) leaves the tally off by those writes: ``reconcile`` recounts a key from the source
  under the same lock (a slow timer does it), so a tally is exact again within the hour and never
  drifts for good. Only a tally whose source changed can be off: each source document carries
  the hour of its last change (``changed_stamp``, written with the change itself), and the
  hourly recount takes only the sites changed since the run before, or in the last day at the
  first run after a start (``ChangedSites``). At rest it recounts nothing, whatever the history
  holds.

A process's pending adjustments (``PendingTallies``) live on its ``Storage``
(``storage.context``), built by the service's ``bootstrap``, and are written when its api or
worker stops.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from dbt_shared.background import Later
from dbt_shared.storage.document_locks import DocumentLock

if TYPE_CHECKING:
    from dbt_shared.clock import Clock
    from dbt_shared.storage.context import Storage

TALLIES = "tallies"
FLUSH_EVERY_S = 0.1
#: The hour (since the epoch, UTC) a tally's source document last changed.
CHANGED_FIELD = "changed_hour"
log = logging.getLogger(__name__)


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

    def settle(self) -> None:
        """Write this process's pending adjustments now, before a person's action is answered:
        the page they load next may be served by another process, which reads only what is
        written (an item marked read, then the inbox reloaded at once)."""
        ...


class PendingTallies:
    """A process's adjustments not written yet, per tally document, written together every
    ``FLUSH_EVERY_S`` by one thread (and when ``flush`` is called: the process's stop, tests).

    The documents it writes on FerretDB are its own (``shard``: host, process and a token of
    this object), and every write of them goes through ``writes``, so each has one writer; its
    reads take ``writes`` too, so a read sees an adjustment once: still pending, or written."""

    def __init__(self) -> None:
        self.shard = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.writes = threading.Lock()
        self._lock = threading.Lock()  # the pending map (adjusting never waits for a write)
        self._docs: dict[tuple[str, str], tuple[Collection, dict[str, Any]]] = {}
        self._later = Later("tallies", FLUSH_EVERY_S, self.flush)

    def add(self, collection: Collection, doc_id: str, deltas: dict[str, int], tags: dict) -> None:
        with self._lock:
            key = (collection.database.name, doc_id)
            _collection, doc = self._docs.setdefault(key, (collection, {"inc": {}, "set": {}}))
            for field, n in deltas.items():
                doc["inc"][field] = doc["inc"].get(field, 0) + n
            doc["set"].update(tags)
        self._later.poke()

    def of(self, collection: Collection) -> list[dict[str, Any]]:
        """What this process has not written yet to ``collection``, as tally documents."""
        db = collection.database
        with self._lock:
            return [
                {**doc["set"], **doc["inc"]}
                for (name, _id), (_c, doc) in self._docs.items()
                if name == db.name
            ]

    def flush(self) -> None:
        with self.writes:
            with self._lock:
                docs, self._docs = self._docs, {}
            for key, (collection, doc) in docs.items():
                try:
                    _write(collection, key[1], doc)
                except Exception:  # the database is away: again at the next flush
                    log.warning("tally adjustments not written yet", exc_info=True)
                    self._put_back(key, collection, doc)
                    self._later.poke()

    def _put_back(self, key, collection: Collection, doc: dict[str, Any]) -> None:
        with self._lock:
            _c, pending = self._docs.setdefault(key, (collection, {"inc": {}, "set": {}}))
            for field, n in doc["inc"].items():
                pending["inc"][field] = pending["inc"].get(field, 0) + n
            pending["set"] = {**doc["set"], **pending["set"]}


def _write(collection: Collection, doc_id: str, doc: dict[str, Any]) -> None:
    update: dict[str, Any] = {"$inc": doc["inc"], "$set": doc["set"]}
    try:
        collection.update_one({"_id": doc_id}, update, upsert=True)  # index: _id
    except DuplicateKeyError:  # a first adjustment raced (MongoDB): again
        collection.update_one({"_id": doc_id}, update)


class MongoTallies:
    """One tally document per key and writer: on MongoDB one per key (``$inc`` is atomic); on
    FerretDB one per key and process, each written only by its process (under a thread lock),
    so no two writers ever read-modify-write the same document and no lock document is needed
    on the hot path. A tally is the sum of its key's documents (a handful: the processes that
    wrote since the last recount, which folds them into one). What this process adjusted and
    has not written yet is its ``Storage``'s ``pending``."""

    def __init__(self, storage: Storage) -> None:
        self.db = storage.db
        self.collection = self.db[TALLIES]
        self.storage = storage
        self.pending = storage.pending

    def _shard(self) -> str:
        return self.pending.shard if self.storage.write_lock else BASE

    def adjust(self, key, deltas, **tags):
        deltas = {field: n for field, n in deltas.items() if n}
        if not deltas:
            return
        shard = self._shard()
        self.pending.add(
            self.collection, f"{key}#{shard}", deltas, {**tags, "key": key, "shard": shard}
        )

    def get(self, key):
        with self.pending.writes:
            stored = list(self.collection.find({"key": key}, {"_id": 0}))  # index: key
            pending = [doc for doc in self.pending.of(self.collection) if doc["key"] == key]
        return _summed([*stored, *pending])

    def find(self, tags):
        with self.pending.writes:
            stored = list(self.collection.find(tags))  # index: site_kind
            pending = self.pending.of(self.collection)
        by_key: dict[str, list[dict[str, Any]]] = {}
        for doc in [*stored, *(p for p in pending if _tagged(p, tags))]:
            by_key.setdefault(doc["key"], []).append(doc)
        return [{**_summed(docs), "key": key} for key, docs in by_key.items()]

    def settle(self):
        self.pending.flush()

    def reconcile(self, key, count, **tags):
        # The recount folds every writer's document into one. A writer adjusting between the
        # count and the fold is off until the next recount (the same bound as a killed one).
        self.pending.flush()  # this process's adjustments so far are in what the fold replaces
        with DocumentLock(self.db, f"{TALLIES}/{key}"):
            counts = count()
            base = {**tags, **counts, "key": key, "shard": BASE}
            self.collection.replace_one({"_id": f"{key}#{BASE}"}, base, upsert=True)
            for doc in self.collection.find({"key": key}, {"shard": 1}):  # index: key
                if doc["shard"] != BASE:
                    self.collection.delete_one({"_id": doc["_id"]})
        return counts


BASE = "base"
_TAG_FIELDS = ("_id", "key", "shard")


def _tagged(doc: dict[str, Any], tags: dict[str, Any]) -> bool:
    return all(doc.get(field) == value for field, value in tags.items())


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
    # every site's tallies of a kind at once (an overview across sites: one read, not one per
    # site), and of one day for the per-day kinds (tag ``day``)
    db[TALLIES].create_index([("kind", 1), ("day", 1)], name="kind_day")


def changed_stamp(moment: datetime) -> dict[str, int]:
    """The field a tally's source document carries, written with each change of it: the hour
    of the change (``ChangedSites`` finds it by equality)."""
    return {CHANGED_FIELD: int(moment.timestamp() // 3600)}


#: How far back the first recount after a start looks: a process killed before its recount, or a
#: stack stopped for hours, left a tally off in a change made that long ago.
FIRST_LOOKBACK_HOURS = 24


class ChangedSites:
    """The hourly recount of the tallies fed by ``source`` (a store or rows: ``find(query,
    projection)``): it recounts the sites with a document changed since the recount before, that
    run's hour included (a change made around it is looked at again), or in the last
    ``FIRST_LOOKBACK_HOURS`` at the first run after a start. They are the only ones whose
    tallies a killed process can have left off. One equality read per hour (the source's index
    on ``CHANGED_FIELD`` and ``site_id``): two at rest, and nothing found."""

    def __init__(self, source: Any, clock: Clock) -> None:
        self.source = source
        self.clock = clock
        self._last_hour: int | None = None  # the hour of the last run that recounted everything

    def recount(self, recount_site: Callable[[str], Any]) -> set[str]:
        """Recount every changed site with ``recount_site``; answers the sites. Where a read or
        a recount fails, the next run looks back as far as this one did."""
        hour = changed_stamp(self.clock.now())[CHANGED_FIELD]
        first = hour - FIRST_LOOKBACK_HOURS + 1 if self._last_hour is None else self._last_hour
        found: set[str] = set()
        for h in range(min(first, hour - 1), hour + 1):
            found.update(d["site_id"] for d in self.source.find({CHANGED_FIELD: h}, {"site_id": 1}))
        for site_id in sorted(found):
            recount_site(site_id)
        self._last_hour = hour
        return found


def by_site(tallies: Tallies, tags: dict[str, Any], field: str = "n") -> dict[str, int]:
    """``field`` of every site's tallies whose tags equal ``tags``, summed per ``site_id``: one
    read for all sites (an overview across sites; index ``kind_day`` for ``kind``/``day``)."""
    totals: dict[str, int] = {}
    for tally in tallies.find(tags):
        if tally.get("site_id"):
            totals[tally["site_id"]] = totals.get(tally["site_id"], 0) + int(tally.get(field, 0))
    return totals


def by_site_in_days(tallies: Tallies, kind: str, today: date, days: int) -> dict[str, int]:
    """Every site's per-day tallies of ``kind`` (tagged ``day``) on ``today`` and the ``days
    - 1`` days before, summed per site: one read per day (index ``kind_day``), not per site."""
    totals: dict[str, int] = {}
    for n in range(days):
        day = (today - timedelta(days=n)).isoformat()
        for site_id, count in by_site(tallies, {"kind": kind, "day": day}).items():
            totals[site_id] = totals.get(site_id, 0) + count
    return totals


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

    def settle(self):
        pass  # adjusted in place: every reader sees it at once

    def reconcile(self, key, count, **tags):
        with self._lock:
            counts = count()
            self.tallies[key] = {**tags, **counts}
        return counts
