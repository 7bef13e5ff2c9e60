"""What the writes of one process to one database share, in one object its composition root
builds: a service's ``bootstrap`` makes one ``Storage`` per process and hands it to its
repositories (``repository.mongo(storage, clock)``), and holds it on its ``Components``.

- ``inserts``: the grouped inserts per collection (``group_inserts``): every writer of a
  collection in the process puts its inserts in one command with the others of the moment;
- ``pending``: the tally adjustments not written yet (``tallies.PendingTallies``);
- ``deferred``: the deletes made a moment later, together (``document_locks.DeferredDeletes``);
- ``hand_off``: the events handed to the broker right after their write
  (``dbt_shared.events.hand_off``), connected by the api or the worker that owns the publisher;
- ``write_lock``: whether a guarded save takes its revision's lock (FerretDB) or the filter is
  enough (MongoDB), asked of the server once.

Two wirings in one process (two tests, a bench's two services) share none of it. The process
that owns the storage calls ``stop`` when it stops (the worker at its end, the api at exit):
what was pending is written, nothing waits on a thread the interpreter kills.
"""

from __future__ import annotations

import threading

from pymongo.database import Database

from dbt_shared.events.hand_off import HandOff
from dbt_shared.storage.document_locks import DeferredDeletes, DocumentLock, needs_write_lock
from dbt_shared.storage.documents import MongoDocumentStore
from dbt_shared.storage.group_inserts import InsertGroups
from dbt_shared.storage.listing import MongoRows
from dbt_shared.storage.tallies import MongoTallies, PendingTallies


class Storage:
    def __init__(self, db: Database, *, write_lock: bool | None = None) -> None:
        self.db = db
        self.inserts = InsertGroups()
        self.pending = PendingTallies()
        self.deferred = DeferredDeletes()
        self.hand_off = HandOff()
        self._write_lock = write_lock
        self._lock = threading.Lock()

    @property
    def write_lock(self) -> bool:
        """Whether a guarded update is not compare-and-set on this server (FerretDB v1): the
        server's ``buildInfo``, asked on first use (not at start: the server may be away)."""
        with self._lock:
            if self._write_lock is None:
                self._write_lock = needs_write_lock(self.db)
            return self._write_lock

    def documents(self, collection: str, what: str = "object") -> MongoDocumentStore:
        """A ``MongoDocumentStore`` of ``collection``, writing through this storage."""
        return MongoDocumentStore(self.db[collection], what, storage=self)

    def tallies(self) -> MongoTallies:
        """The database's ``MongoTallies``, adjusting through this storage's ``pending``."""
        return MongoTallies(self)

    def rows(self, collection: str) -> MongoRows:
        """The list rows kept in ``collection`` (``listing.MongoRows``)."""
        return MongoRows(self.db[collection], storage=self)

    def lock(self, name: str) -> DocumentLock:
        """A short-lease lock on ``name`` (``document_locks.DocumentLock``)."""
        return DocumentLock(self.db, name, deferred=self.deferred)

    def flush(self) -> None:
        """Write what waits now: tally adjustments, deferred deletes, handed-off events (a
        batch job before it exits, a test before it reads the database)."""
        self.stop()
        self.hand_off.flush()

    def stop(self) -> None:
        """What a stopping process writes (its api at exit, its worker at the end): the tally
        adjustments and deferred deletes it holds. Events not handed off yet are the relay's:
        a stop never waits on the broker."""
        self.pending.flush()
        self.deferred.sweep()
