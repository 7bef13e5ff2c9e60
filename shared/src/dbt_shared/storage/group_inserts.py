"""Inserts that concurrent threads of one process make into one collection, written together.

A request's writes are small and many run at once (an api's threads): each its own command is
a round trip, a FerretDB command and a PostgreSQL transaction. Here a thread that finds no
write under way writes what is queued, its own included, in one ``insert_many``; the threads
that queue meanwhile wait and go in the next one, which the first of them writes. Every caller
returns once its documents are stored, or raises its own error, as ``insert_one`` would: nothing
is acknowledged before it is written, and a lone writer waits for no one. A process's groups
are held by its ``Storage`` (``InsertGroups``), built by the service's ``bootstrap``.
"""

from __future__ import annotations

import threading
from typing import Any

from pymongo.collection import Collection
from pymongo.errors import BulkWriteError, DuplicateKeyError, WriteError

MAX_DOCUMENTS = 200  # at most in one write (others wait for the next)


class _Pending:
    __slots__ = ("documents", "errors", "failure", "lead", "settled")

    def __init__(self, documents: list[dict[str, Any]]) -> None:
        self.documents = documents
        self.errors: list[dict[str, Any]] = []  # this caller's write errors, its own indexes
        self.failure: BaseException | None = None  # the whole write failed
        self.settled = threading.Event()
        self.lead = False  # woken to write the queue, not because it was written


class GroupInserts:
    def __init__(self, collection: Collection) -> None:
        self.collection = collection
        self._lock = threading.Lock()
        self._queue: list[_Pending] = []
        self._writing = False

    def insert_one(self, document: dict[str, Any]) -> None:
        """Store ``document``; ``DuplicateKeyError`` if its ``_id`` (or another unique key) is
        taken."""
        errors = self._insert([document])
        if errors:
            error = errors[0]
            kind = DuplicateKeyError if error.get("code") == 11000 else WriteError
            raise kind(error.get("errmsg", "write error"), error.get("code"), error)

    def insert_many(self, documents: list[dict[str, Any]]) -> None:
        """Store ``documents`` (unordered); ``BulkWriteError`` naming those not stored, by their
        index in ``documents``."""
        errors = self._insert(documents)
        if errors:
            raise BulkWriteError({"writeErrors": errors, "nInserted": len(documents) - len(errors)})

    def _insert(self, documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not documents:
            return []
        mine = _Pending(documents)
        with self._lock:
            self._queue.append(mine)
            lead = not self._writing
            self._writing = True
        while True:
            if lead:
                self._write_queued()
            mine.settled.wait()
            if not mine.lead:
                break
            mine.lead, lead = False, True
            mine.settled.clear()
        if mine.failure is not None:
            raise mine.failure
        return mine.errors

    def _write_queued(self) -> None:
        """Write what is queued (up to ``MAX_DOCUMENTS``), then hand the writing to the first
        caller still waiting, so that no caller writes others' documents for long."""
        with self._lock:
            batch, count = [], 0
            while self._queue and (
                not batch or count + len(self._queue[0].documents) <= MAX_DOCUMENTS
            ):
                count += len(self._queue[0].documents)
                batch.append(self._queue.pop(0))
        try:
            self._write(batch)
        finally:  # whatever happened, the next caller writes and every caller here returns
            with self._lock:
                if self._queue:
                    self._queue[0].lead = True
                    self._queue[0].settled.set()
                else:
                    self._writing = False
            for pending in batch:
                pending.settled.set()

    def _write(self, batch: list[_Pending]) -> None:
        documents = [d for pending in batch for d in pending.documents]
        owners = [(pending, i) for pending in batch for i in range(len(pending.documents))]
        try:
            self.collection.insert_many(documents, ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if exc.details.get("writeConcernErrors") or any(
                not 0 <= e.get("index", -1) < len(owners) for e in errors
            ):
                for pending in batch:
                    pending.failure = exc
                return
            for error in errors:
                pending, index = owners[error["index"]]
                pending.errors.append({**error, "index": index})
        except BaseException as exc:  # the server is away: each caller learns it
            for pending in batch:
                pending.failure = exc


class InsertGroups:
    """A process's ``GroupInserts``, one per collection of its database: every writer of a
    collection in the process (each store, the outbox's intents, the audit log) shares it, so
    their concurrent inserts go in one command. Held by the process's ``Storage``."""

    def __init__(self) -> None:
        self._groups: dict[tuple[str, str], GroupInserts] = {}
        self._lock = threading.Lock()

    def of(self, collection: Collection) -> GroupInserts:
        """The grouped inserts into ``collection``."""
        key = (collection.database.name, collection.name)
        with self._lock:
            group = self._groups.get(key)
            if group is None:
                group = self._groups[key] = GroupInserts(collection)
            return group
