"""Locks around a read-modify-write where the server does not make it atomic (FerretDB v1),
and the deletes made a moment later, together, of what no one reads again (past revisions'
locks, settled queue entries). ``storage.documents`` takes a revision's lock in every save.

Nothing here is held by the module: a process's ``DeferredDeletes`` live on its ``Storage``
(``storage.context``), built by the service's ``bootstrap``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError

from dbt_shared.background import Later
from dbt_shared.errors import StaleWrite
from dbt_shared.storage.mongo import delete_ids

log = logging.getLogger(__name__)

LOCKS_COLLECTION = "document_locks"
LOCK_LEASE = timedelta(seconds=10)
LOCK_WAIT_S = 5.0


def needs_write_lock(db: Database) -> bool:
    """Whether a guarded update is not compare-and-set on this server.

    FerretDB v1 applies an update as read-then-write without a lock, so two writers guarded by
    the same revision can both "succeed" and one write is lost. MongoDB applies a filtered
    update atomically per document. ``MONGODB_WRITE_GUARD`` (``lock`` or ``revision``) overrides
    what the server's ``buildInfo`` says. Asks the server each time: a ``Storage`` asks once.
    """
    setting = os.environ.get("MONGODB_WRITE_GUARD", "auto").lower()
    if setting in ("lock", "revision"):
        return setting == "lock"
    return "ferretdbVersion" in db.client.admin.command("buildInfo")


class DocumentLock:
    """A short-lease lock on one document: an ``insert_one`` of its id, atomic on every server.

    Held only around a read-modify-write; a holder that dies leaves a lease that others take
    over once it has run out.
    """

    def __init__(
        self,
        db: Database,
        name: str,
        lease: timedelta = LOCK_LEASE,
        deferred: DeferredDeletes | None = None,
    ) -> None:
        self.locks = db[LOCKS_COLLECTION]
        self.name = name
        self.lease = lease
        self.owner = uuid.uuid4().hex
        self.deferred = deferred  # where ``release_later`` leaves it (else: released at once)

    def document(self, now: datetime) -> dict[str, Any]:
        """The lock as stored: taken by whoever inserts it first, until ``expires_at``."""
        return {"_id": self.name, "owner": self.owner, "expires_at": now + self.lease}

    def try_acquire(self) -> bool:
        """Take the lock if it is free (or its holder's lease ran out); never waits."""
        while True:
            now = datetime.now(UTC)
            try:
                self.locks.insert_one(self.document(now))
                return True
            except DuplicateKeyError:
                held = self.locks.find_one({"_id": self.name})  # index: _id
                if held is None:
                    continue  # released meanwhile
                if _utc_if_datetime(held["expires_at"]) <= now:  # its holder died
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
        if self.deferred is None:
            self.release()
        else:
            self.deferred.add(self.locks, self.name)

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
        locks[0].locks.insert_many([lock.document(now) for lock in locks], ordered=False)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(err.get("code") != 11000 for err in errors):
            for lock in locks:  # what was taken before the error is given back
                if lock.name not in {locks[err["index"]].name for err in errors}:
                    lock.release()
            raise
        taken -= {locks[err["index"]].name for err in errors}
    return [lock for lock in locks if lock.name in taken]


def revision_lock(
    db: Database, collection: str, document_id: str, revision: Any, deferred: DeferredDeletes
) -> DocumentLock:
    """The lock of one revision of a document: whoever holds it is the one writer that may
    turn that revision into the next. Once the next is written no writer wants it again
    (a writer still at that revision gets a conflict), so it is released later, in bulk
    (``deferred``)."""
    return DocumentLock(db, f"{collection}/{document_id}@{revision}", deferred=deferred)


class DeferredDeletes:
    """Deletes by ``_id`` made a moment later, together: one command per collection every
    ``SWEEP_EVERY_S`` (``mongo.delete_ids``: an equality delete per id) for what no one reads
    again (a past revision's lock, a settled queue entry). Every few minutes the sweep of the
    locks also takes those whose lease ran out long ago (a process that died before its sweep):
    a range, but on a collection that holds only the locks in flight.

    One per process and database, on its ``Storage``; ``sweep`` makes them now (the process's
    stop, a batch job before it exits, tests). A delete left here must be harmless while it
    lasts: a process killed first leaves it for good."""

    SWEEP_EVERY_S = 0.25
    EXPIRED_EVERY_S = 300.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[tuple[int, str, str], tuple[Collection, list[Any]]] = {}
        self._later = Later("deferred-deletes", self.SWEEP_EVERY_S, self.sweep)
        self._expired_at = 0.0

    def add(self, collection: Collection, document_id: Any) -> None:
        """Delete ``document_id`` from ``collection`` a moment from now, with others."""
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


def _utc_if_datetime(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value
