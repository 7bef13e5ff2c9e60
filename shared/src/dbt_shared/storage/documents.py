"""Storage of aggregates as documents, with their events, behind one small interface.

Every service's ``repository.py`` builds its repositories on a ``DocumentStore``:

- ``MongoDocumentStore``: one collection; a new document and its events in one ``insert_one``,
  a change and its events in one guarded ``find_one_and_update`` (the filter holds the revision
  the change was decided on, so a concurrent writer's change is never overwritten: the loser
  gets ``StaleWrite``). The events ride in the document (``outbox``) for the relay.
- ``InMemoryDocumentStore`` (``dbt_shared.storage.memory_documents``): the same contract in a dict,
  for unit tests of the service layer.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from pymongo import ReturnDocument, UpdateOne
from pymongo.collection import Collection
from pymongo.errors import BulkWriteError, DuplicateKeyError

from dbt_shared.clock import SystemClock
from dbt_shared.errors import Duplicate, StaleWrite
from dbt_shared.events import outbox
from dbt_shared.events.envelope import Event
from dbt_shared.storage.document_locks import LOCK_LEASE as LOCK_LEASE
from dbt_shared.storage.document_locks import LOCK_WAIT_S, revision_lock, try_acquire_all
from dbt_shared.storage.document_locks import LOCKS_COLLECTION as LOCKS_COLLECTION
from dbt_shared.storage.document_locks import DocumentLock as DocumentLock
from dbt_shared.storage.document_locks import _utc_if_datetime as _utc_if_datetime
from dbt_shared.storage.document_locks import needs_write_lock as needs_write_lock

if TYPE_CHECKING:
    from dbt_shared.storage.context import Storage

REVISION = "_rev"
WRITER = "_w"  # which ``save_many`` wrote the document last (it tells its writes by it)
_BOOKKEEPING = (REVISION, WRITER, outbox.OUTBOX_FIELD)
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

    def find_ids(
        self, ids: Iterable[str], projection: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """The documents of ``ids`` that exist, in the order asked (an id asked twice: once):
        one list page's rows read by their ids, never one read after another."""
        ...

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


class MongoDocumentStore:
    """A collection's documents; its writes go through the process's ``storage`` (grouped
    inserts, the revision guard it chose, revision locks released later, the hand-off)."""

    def __init__(self, collection: Collection, what: str = "object", *, storage: Storage) -> None:
        self.collection = collection
        self.what = what
        self.storage = storage

    def get(self, document_id: str) -> dict[str, Any] | None:
        return self.collection.find_one({"_id": document_id})

    def find(self, query, projection=None, sort=None, limit=0):
        return list(self.collection.find(query, projection, sort=sort, limit=limit))

    def find_ids(self, ids, projection=None):
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return []
        if self.storage.one_read_per_id:
            # FerretDB v1 does not push an ``$in`` down: it reads the whole collection (9 s for
            # a page's 50 names on the bench's seeded clinic, growing with the history). One
            # equality read per id (index ``_id``), made at once: about the slowest read's time.
            reads = {
                str(n): partial(self.collection.find_one, {"_id": i}, projection)
                for n, i in enumerate(wanted)
            }
            found = [d for d in self.storage.together(**reads).values() if d is not None]
        else:
            found = list(self.collection.find({"_id": {"$in": wanted}}, projection))  # _id
        by_id = {d["_id"]: d for d in found}
        return [by_id[i] for i in wanted if i in by_id]

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
            self.storage.inserts.of(self.collection).insert_one(stored)  # with others' inserts
        except DuplicateKeyError:
            outbox.forget_intents(self.collection.database, intents)
            existing = self.collection.find_one({"_id": document["_id"]})
            if existing is None:  # a duplicate on another unique index
                raise Duplicate(self.what) from None
            return existing, False
        self.storage.hand_off.hand_off(self.collection.database, events)
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
            self.collection.database,
            self.collection.name,
            document_id,
            events,
            _SYSTEM_CLOCK,
            inserts=self.storage.inserts,
        )

    def save(self, document, events=()):
        events = list(events)
        intents = self._intend(document["_id"], events)
        try:
            stored = self._save(document, events)
        except StaleWrite:
            outbox.forget_intents(self.collection.database, intents)
            raise
        self.storage.hand_off.hand_off(self.collection.database, events)
        return stored

    def save_many(self, changes):
        changes = [(document, list(events)) for document, events in changes]
        ids = [document["_id"] for document, _events in changes]
        if len(set(ids)) != len(ids):
            raise ValueError("save_many takes one change per document")
        db = self.collection.database
        outbox.record_intents_many(
            db,
            self.collection.name,
            [(d["_id"], events) for d, events in changes],
            _SYSTEM_CLOCK,
            inserts=self.storage.inserts,
        )
        results: list[dict[str, Any] | None] = [None] * len(changes)
        locks: dict[int, DocumentLock] = {}
        together = list(range(len(changes)))
        if self.storage.write_lock:
            # As ``save``: each writer holds its revision's lock (taken together here); one
            # whose lock is held by another writer is saved alone, waiting as ``save`` does.
            wanted = {
                i: revision_lock(
                    db, self.collection.name, d["_id"], d.get(REVISION), self.storage.deferred
                )
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
        self.storage.hand_off.hand_off(db, succeeded)
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
                {"_id": document["_id"], REVISION: document.get(REVISION)},
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
        if not self.storage.write_lock:
            return self._guarded_update(document, events)
        revision = document.get(REVISION)
        lock = revision_lock(
            self.collection.database,
            self.collection.name,
            document["_id"],
            revision,
            self.storage.deferred,
        )
        self._take_revision(lock, document["_id"], revision)
        try:
            # The revision's lock makes this writer the only one that may write over that
            # revision, so the revision in the filter is a compare-and-set on FerretDB too (an
            # update there is an unlocked read-then-write: it compares what it read).
            update: dict[str, Any] = {"$set": state_of(document), "$inc": {REVISION: 1}}
            written = self.collection.update_one(
                {"_id": document["_id"], REVISION: revision},
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
        revision = document.get(REVISION)
        update: dict[str, Any] = {"$set": state_of(document), "$inc": {REVISION: 1}}
        stored = self.collection.find_one_and_update(
            {"_id": document["_id"], REVISION: revision},  # index: _id
            outbox.update_with_events(update, events),
            return_document=ReturnDocument.AFTER,
        )
        if stored is None:
            raise StaleWrite(self.what)
        return stored
