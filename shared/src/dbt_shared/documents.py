"""Storage of aggregates as documents, with their events, behind one small interface.

Every service's ``repository.py`` builds its repositories on a ``DocumentStore``:

- ``MongoDocumentStore``: one collection; a new document and its events in one ``insert_one``,
  a change and its events in one guarded ``find_one_and_update`` (the filter holds the revision
  the change was decided on, so a concurrent writer's change is never overwritten: the loser
  gets ``StaleWrite``). The events ride in the document (``outbox``) for the relay.
- ``InMemoryDocumentStore`` (``dbt_shared.memory_documents``): the same contract in a dict,
  for unit tests of the service layer.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from pymongo import ReturnDocument, UpdateOne
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError

from dbt_shared import group_inserts
from dbt_shared.background import Later
from dbt_shared.clock import SystemClock
from dbt_shared.errors import Duplicate, StaleWrite
from dbt_shared.events import outbox
from dbt_shared.events.envelope import Event
from dbt_shared.mongo import delete_ids

REVISION = "_rev"
WRITER = "_w"  # which ``save_many`` wrote the document last (it tells its writes by it)
_BOOKKEEPING = (REVISION, WRITER, outbox.OUTBOX_FIELD, outbox.RECORDED_AT_FIELD)
_SYSTEM_CLOCK = SystemClock()
log = logging.getLogger(__name__)

Sort = list[tuple[str, int]]


class DocumentStore(Protocol):
    def get(self, document_id: str) -> dict[str, Any] | None: ...

    def find(
        self,
        query: dict[str, Any],
        projection: dict[str, Any] | None = None,
        sort: Sort | None = None,
        limit: int = 0,
    ) -> list[dict[str, Any]]: ...

    def count(self, query: dict[str, Any], limit: int = 0) -> int: ...

    def insert(
        self, document: dict[str, Any], events: Iterable[Event] = ()
    ) -> tuple[dict[str, Any], bool]:
        """Store a new document (revision 0) with its events; if its ``_id`` exists already
        (a retried request), answer the stored one and ``False``. A clash on another unique
        key raises ``Duplicate``."""
        ...

    def save(self, document: dict[str, Any], events: Iterable[Event] = ()) -> dict[str, Any]:
        """Write a changed document with its events, if it is still at the revision it was
        read at; raise ``StaleWrite`` otherwise. Answers the stored document."""
        ...

    def save_many(
        self, changes: list[tuple[dict[str, Any], Iterable[Event]]]
    ) -> list[dict[str, Any] | None]:
        """``save`` for several documents (each at most once) in a few writes, whatever their
        number: answers, per change, the stored document, or ``None`` where ``save`` would have
        raised ``StaleWrite`` (that change was not written)."""
        ...

    def insert_many(self, documents: list[dict[str, Any]]) -> set[str]:
        """Store new documents (no events) in one write; an ``_id`` stored before is left as
        it is. Answers the ids stored now."""
        ...

    def delete(self, document_id: str) -> bool:
        """Remove a document that carries no pending events (work done, a queue entry);
        answers whether it was there."""
        ...


def put(store: DocumentStore, document: dict[str, Any], attempts: int = 3) -> dict[str, Any]:
    """Create or replace a whole document by ``_id`` (per-site settings, a preference): a
    concurrent replace makes this one try again on the newer revision; the last one wins."""
    for _ in range(attempts):
        current = store.get(document["_id"])
        if current is None:
            stored, created = store.insert(document)
            if created:
                return stored
            continue
        try:
            return store.save({**document, REVISION: current.get(REVISION, 0)})
        except StaleWrite:
            continue
    raise StaleWrite(getattr(store, "what", "document"))


def state_of(document: dict[str, Any]) -> dict[str, Any]:
    """The fields a save writes: everything but the id and the bookkeeping."""
    return {k: v for k, v in document.items() if k != "_id" and k not in _BOOKKEEPING}


LOCKS_COLLECTION = "document_locks"
LOCK_LEASE = timedelta(seconds=10)
LOCK_WAIT_S = 5.0

_lock_needed: dict[int, bool] = {}


def needs_write_lock(db: Database) -> bool:
    """Whether a guarded update is not compare-and-set on this server.

    FerretDB v1 applies an update as read-then-write without a lock, so two writers guarded by
    the same revision can both "succeed" and one write is lost. MongoDB applies a filtered
    update atomically per document. ``MONGODB_WRITE_GUARD`` (``lock`` or ``revision``) overrides
    what the server's ``buildInfo`` says.
    """
    setting = os.environ.get("MONGODB_WRITE_GUARD", "auto").lower()
    if setting in ("lock", "revision"):
        return setting == "lock"
    key = id(db.client)
    if key not in _lock_needed:
        _lock_needed[key] = "ferretdbVersion" in db.client.admin.command("buildInfo")
    return _lock_needed[key]


class DocumentLock:
    """A short-lease lock on one document: an ``insert_one`` of its id, atomic on every server.

    Held only around a read-modify-write; a holder that dies leaves a lease that others take
    over once it has run out.
    """

    def __init__(self, db: Database, name: str, lease: timedelta = LOCK_LEASE) -> None:
        self.locks = db[LOCKS_COLLECTION]
        self.name = name
        self.lease = lease
        self.owner = uuid.uuid4().hex

    def try_acquire(self) -> bool:
        """Take the lock if it is free (or its holder's lease ran out); never waits."""
        while True:
            now = datetime.now(UTC)
            try:
                self.locks.insert_one(
                    {"_id": self.name, "owner": self.owner, "expires_at": now + self.lease}
                )
                return True
            except DuplicateKeyError:
                held = self.locks.find_one({"_id": self.name})  # index: _id
                if held is None:
                    continue  # released meanwhile
                if _aware(held["expires_at"]) <= now:  # its holder died
                    self.locks.delete_one({"_id": self.name, "owner": held["owner"]})
                    continue
                return False

    def __enter__(self) -> DocumentLock:
        deadline = time.monotonic() + LOCK_WAIT_S
        pause = 0.002
        while not self.try_acquire():
            if time.monotonic() > deadline:
                raise StaleWrite("object (busy)")
            time.sleep(pause)
            pause = min(pause * 2, 0.05)
        return self

    def release(self) -> None:
        self.locks.delete_one({"_id": self.name, "owner": self.owner})

    def release_later(self) -> None:
        """Leave the lock to be deleted with others in one write a moment later: for a lock no
        one takes again once its work is done (a revision's, see ``revision_lock``)."""
        _DEFERRED.add(self.locks, self.name)

    def __exit__(self, *_exc: object) -> None:
        self.release()


def try_acquire_all(locks: list[DocumentLock]) -> list[DocumentLock]:
    """Take those of ``locks`` (all in one database) that are free, in one insert; answers the
    ones taken. One that is held (or whose holder died) is left to ``try_acquire``."""
    if not locks:
        return []
    now = datetime.now(UTC)
    taken = {lock.name for lock in locks}
    try:
        locks[0].locks.insert_many(
            [{"_id": x.name, "owner": x.owner, "expires_at": now + x.lease} for x in locks],
            ordered=False,
        )
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(err.get("code") != 11000 for err in errors):
            for lock in locks:  # what was taken before the error is given back
                if lock.name not in {locks[err["index"]].name for err in errors}:
                    lock.release()
            raise
        taken -= {locks[err["index"]].name for err in errors}
    return [lock for lock in locks if lock.name in taken]


def revision_lock(db: Database, collection: str, document_id: str, revision: Any):
    """The lock of one revision of a document: whoever holds it is the one writer that may
    turn that revision into the next. Once the next is written no writer wants it again
    (a writer still at that revision gets a conflict), so it is released later, in bulk."""
    return DocumentLock(db, f"{collection}/{document_id}@{revision}")


class _DeferredDeletes:
    """Deletes by ``_id`` made a moment later, together: one command per collection every
    ``SWEEP_EVERY_S`` (``mongo.delete_ids``: an equality delete per id) for what no one reads
    again (a past revision's lock, a settled queue entry). Every few minutes the sweep of the
    locks also takes those whose lease ran out long ago (a process that died before its sweep):
    a range, but on a collection that holds only the locks in flight."""

    SWEEP_EVERY_S = 0.25
    EXPIRED_EVERY_S = 300.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[tuple[int, str, str], tuple[Collection, list[Any]]] = {}
        self._later = Later("deferred-deletes", self.SWEEP_EVERY_S, self.sweep)
        self._expired_at = 0.0

    def add(self, collection: Collection, document_id: Any) -> None:
        with self._lock:
            key = (id(collection.database.client), collection.database.name, collection.name)
            self._pending.setdefault(key, (collection, []))[1].append(document_id)
        self._later.poke()

    def sweep(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        expired = time.monotonic() - self._expired_at >= self.EXPIRED_EVERY_S
        for key, (collection, ids) in pending.items():
            try:
                delete_ids(collection, ids)  # index: _id
                if expired and collection.name == LOCKS_COLLECTION:
                    # A range on a collection of in-flight locks only, every few minutes.
                    old = datetime.now(UTC) - LOCK_LEASE
                    collection.delete_many({"expires_at": {"$lt": old}})
                    self._expired_at = time.monotonic()
            except Exception:  # the database is away: again at the next sweep
                log.warning("deferred deletes not made yet", exc_info=True)
                with self._lock:
                    self._pending.setdefault(key, (collection, []))[1].extend(ids)
                self._later.poke()


_DEFERRED = _DeferredDeletes()


def delete_later(collection: Collection, document_id: Any) -> None:
    """Delete a document no one reads or writes again a moment from now, with others in one
    write (it must be harmless while it lasts: a process killed first leaves it for good)."""
    _DEFERRED.add(collection, document_id)


def flush_deferred_deletes() -> None:
    """Make the deferred deletes now (a batch job before it exits, tests)."""
    _DEFERRED.sweep()


class MongoDocumentStore:
    def __init__(self, collection: Collection, what: str = "object") -> None:
        self.collection = collection
        self.what = what

    def get(self, document_id: str) -> dict[str, Any] | None:
        return self.collection.find_one({"_id": document_id})

    def find(self, query, projection=None, sort=None, limit=0):
        return list(self.collection.find(query, projection, sort=sort, limit=limit))

    def count(self, query, limit=0):
        # The ``count`` command, not ``count_documents`` (an aggregation): FerretDB pushes the
        # command's filter down, the aggregation's ``$match`` not always.
        command: dict[str, Any] = {"query": query}
        if limit:
            command["limit"] = limit
        return int(self.collection.database.command("count", self.collection.name, **command)["n"])

    def insert(self, document, events=()):
        events = list(events)
        stored = outbox.new_document_with_events({**document, REVISION: 0}, events)
        intents = self._intend(document["_id"], events)
        try:
            group_inserts.of(self.collection).insert_one(stored)  # with other threads' inserts
        except DuplicateKeyError:
            outbox.forget_intents(self.collection.database, intents)
            existing = self.collection.find_one({"_id": document["_id"]})
            if existing is None:  # a duplicate on another unique index
                raise Duplicate(self.what) from None
            return existing, False
        outbox.hand_off(self.collection.database, events)
        return stored, True

    def insert_many(self, documents):
        if not documents:
            return set()
        stored = [{**document, REVISION: 0} for document in documents]
        created = {document["_id"] for document in stored}
        try:
            self.collection.insert_many(stored, ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(err.get("code") != 11000 for err in errors):
                raise
            created -= {stored[err["index"]]["_id"] for err in errors}
        return created

    def delete(self, document_id):
        return self.collection.delete_one({"_id": document_id}).deleted_count == 1  # index: _id

    def _intend(self, document_id: str, events: list[Event]) -> list[str]:
        return outbox.record_intents(
            self.collection.database, self.collection.name, document_id, events, _SYSTEM_CLOCK
        )

    def save(self, document, events=()):
        events = list(events)
        intents = self._intend(document["_id"], events)
        try:
            stored = self._save(document, events)
        except StaleWrite:
            outbox.forget_intents(self.collection.database, intents)
            raise
        outbox.hand_off(self.collection.database, events)
        return stored

    def save_many(self, changes):
        changes = [(document, list(events)) for document, events in changes]
        ids = [document["_id"] for document, _events in changes]
        if len(set(ids)) != len(ids):
            raise ValueError("save_many takes one change per document")
        db = self.collection.database
        outbox.record_intents_many(
            db, self.collection.name, [(d["_id"], events) for d, events in changes], _SYSTEM_CLOCK
        )
        results: list[dict[str, Any] | None] = [None] * len(changes)
        locks: dict[int, DocumentLock] = {}
        together = list(range(len(changes)))
        if needs_write_lock(db):
            # As ``save``: each writer holds its revision's lock (taken together here); one
            # whose lock is held by another writer is saved alone, waiting as ``save`` does.
            wanted = {
                i: revision_lock(db, self.collection.name, d["_id"], d.get(REVISION))
                for i, (d, _events) in enumerate(changes)
            }
            taken = {lock.name for lock in try_acquire_all(list(wanted.values()))}
            locks = {i: lock for i, lock in wanted.items() if lock.name in taken}
            together = sorted(locks)
        written = self._update_together(
            [changes[i] for i in together], {changes[i][0]["_id"]: x for i, x in locks.items()}
        )
        for i, stored in zip(together, written, strict=True):
            results[i] = stored
        for i in sorted(set(range(len(changes))) - set(together)):
            try:
                results[i] = self._save(*changes[i])
            except StaleWrite:
                results[i] = None
        succeeded: list[Event] = []
        for (_document, events), stored in zip(changes, results, strict=True):
            if stored is None:
                outbox.forget_intents(db, [e.id for e in events])
            else:
                succeeded += events
        outbox.hand_off(db, succeeded)
        return results

    def _update_together(self, changes, locks: dict[str, DocumentLock]):
        """One bulk write of guarded updates (the revision in each filter). The server answers
        how many matched, not which: when fewer than all did, each document is read back and
        was written here if it names this write (``WRITER``)."""
        if not changes:
            return []
        token = uuid.uuid4().hex
        updates = [
            UpdateOne(
                {"_id": document["_id"], REVISION: _revision_filter(document.get(REVISION))},
                outbox.update_with_events(
                    {"$set": {**state_of(document), WRITER: token}, "$inc": {REVISION: 1}}, events
                ),
            )
            for document, events in changes
        ]
        try:
            matched = self.collection.bulk_write(updates, ordered=False).matched_count
        except BaseException:
            for lock in locks.values():
                lock.release()
            raise
        if matched == len(changes):
            done = [True] * len(changes)
        else:
            done = [
                (self.collection.find_one({"_id": d["_id"]}, {WRITER: 1}) or {}).get(WRITER)
                == token  # index: _id
                for d, _events in changes
            ]
        results: list[dict[str, Any] | None] = []
        for (document, events), ok in zip(changes, done, strict=True):
            lock = locks.get(document["_id"])
            if lock is not None and ok:
                lock.release_later()
            elif lock is not None:
                lock.release()
            results.append(self._written(document, events) if ok else None)
        return results

    def _save(self, document, events):
        if not needs_write_lock(self.collection.database):
            return self._guarded_update(document, events)
        revision = document.get(REVISION)
        lock = revision_lock(
            self.collection.database, self.collection.name, document["_id"], revision
        )
        self._take_revision(lock, document["_id"], revision)
        try:
            # The revision's lock makes this writer the only one that may write over that
            # revision, so the revision in the filter is a compare-and-set on FerretDB too (an
            # update there is an unlocked read-then-write: it compares what it read).
            update: dict[str, Any] = {"$set": state_of(document), "$inc": {REVISION: 1}}
            written = self.collection.update_one(
                {"_id": document["_id"], REVISION: _revision_filter(revision)},
                outbox.update_with_events(update, events),
            )
        except BaseException:
            lock.release()
            raise
        if written.matched_count != 1:
            lock.release()
            raise StaleWrite(self.what)
        lock.release_later()
        return self._written(document, events)

    @staticmethod
    def _written(document: dict[str, Any], events: list[Event]) -> dict[str, Any]:
        """What the document now is, without reading it again."""
        stored = {**document, REVISION: (document.get(REVISION) or 0) + 1}
        if events:
            stored[outbox.OUTBOX_FIELD] = [
                *document.get(outbox.OUTBOX_FIELD, []),
                *(e.to_document() for e in events),
            ][-outbox.KEEP_IN_DOCUMENT :]
        return stored

    def _take_revision(self, lock: DocumentLock, document_id: str, revision: Any) -> None:
        """Take ``revision``'s lock; while another writer holds it, wait until that writer has
        written (a conflict for this one) or given up (the lock is free again)."""
        deadline = time.monotonic() + LOCK_WAIT_S
        pause = 0.002
        while not lock.try_acquire():
            current = self.collection.find_one({"_id": document_id}, {REVISION: 1})  # _id
            if current is None or current.get(REVISION) != revision:
                raise StaleWrite(self.what)
            if time.monotonic() > deadline:
                raise StaleWrite(f"{self.what} (busy)")
            time.sleep(pause)
            pause = min(pause * 2, 0.05)

    def _guarded_update(self, document, events):
        """MongoDB applies a filtered update atomically: the revision in the filter is the
        compare of compare-and-set."""
        revision = _revision_filter(document.get(REVISION))
        update: dict[str, Any] = {"$set": state_of(document), "$inc": {REVISION: 1}}
        stored = self.collection.find_one_and_update(
            {"_id": document["_id"], REVISION: revision},  # index: _id
            outbox.update_with_events(update, events),
            return_document=ReturnDocument.AFTER,
        )
        if stored is None:
            raise StaleWrite(self.what)
        return stored


def _revision_filter(revision: Any) -> Any:
    # A document stored before revisions were kept has none: it is at "no revision".
    return {"$exists": False} if revision is None else revision


def _aware(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value
