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
  enough (MongoDB), asked of the server once;
- ``sequences``: the numbers of its bucketed lists (``listing``), the counters of one
  document's lists advanced at once;
- ``together``: independent reads of one request made at once, each on a connection of its
  own (a path that must not wait for their sum).

Two wirings in one process (two tests, a bench's two services) share none of it. The process
that owns the storage calls ``stop`` when it stops (the worker at its end, the api at exit):
what was pending is written, nothing waits on a thread the interpreter kills.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

from pymongo.database import Database

from dbt_shared.events.hand_off import HandOff
from dbt_shared.storage.document_locks import DeferredDeletes, DocumentLock, needs_write_lock
from dbt_shared.storage.documents import MongoDocumentStore
from dbt_shared.storage.group_inserts import InsertGroups
from dbt_shared.storage.listing import MongoRows
from dbt_shared.storage.sequences import BlockSequences, MongoSequences, Sequences
from dbt_shared.storage.tallies import MongoTallies, PendingTallies

READERS = 8  # threads of a process's ``together`` reads: a few per request in flight


def together(storage: Storage | None, **reads: Callable[[], Any]) -> dict[str, Any]:
    """``Storage.together``, or one read after another without a storage (in-memory wiring)."""
    if storage is None:
        return {name: read() for name, read in reads.items()}
    return storage.together(**reads)


class Storage:
    def __init__(self, db: Database, *, write_lock: bool | None = None) -> None:
        self.db = db
        self.inserts = InsertGroups()
        self.pending = PendingTallies()
        self.deferred = DeferredDeletes()
        self.hand_off = HandOff()
        self._write_lock = write_lock
        self._one_read_per_id: bool | None = None
        self._lock = threading.Lock()
        self._readers: ThreadPoolExecutor | None = None  # made on first use: after a fork

    @property
    def write_lock(self) -> bool:
        """Whether a guarded update is not compare-and-set on this server (FerretDB v1): the
        server's ``buildInfo``, asked on first use (not at start: the server may be away)."""
        with self._lock:
            if self._write_lock is None:
                self._write_lock = needs_write_lock(self.db)
            return self._write_lock

    @property
    def one_read_per_id(self) -> bool:
        """Whether an ``$in`` on ``_id`` reads the whole collection on this server (FerretDB
        v1 pushes only equalities down): ``find_ids`` then reads each id, the reads at once.
        The server's ``buildInfo``, asked on first use."""
        with self._lock:
            if self._one_read_per_id is None:
                info = self.db.client.admin.command("buildInfo")
                self._one_read_per_id = "ferretdbVersion" in info
            return self._one_read_per_id

    def documents(self, collection: str, what: str = "object") -> MongoDocumentStore:
        """A ``MongoDocumentStore`` of ``collection``, writing through this storage."""
        return MongoDocumentStore(self.db[collection], what, storage=self)

    def tallies(self) -> MongoTallies:
        """The database's ``MongoTallies``, adjusting through this storage's ``pending``."""
        return MongoTallies(self)

    def sequences(self, blocks: bool = True) -> Sequences:
        """The database's list numbers (``listing``): taken in blocks by this process unless
        ``blocks`` is false; the counters of one document's lists advanced at once."""
        numbers = MongoSequences(self.db, self.together)
        return BlockSequences(numbers) if blocks else numbers

    def rows(self, collection: str) -> MongoRows:
        """The list rows kept in ``collection`` (``listing.MongoRows``)."""
        return MongoRows(self.db[collection], storage=self)

    def lock(self, name: str) -> DocumentLock:
        """A short-lease lock on ``name`` (``document_locks.DocumentLock``)."""
        return DocumentLock(self.db, name, deferred=self.deferred)

    def together(self, **reads: Callable[[], Any]) -> dict[str, Any]:
        """Each read's answer by its name, the reads made at once: a path that must not queue
        its reads one behind another behind the server's load waits for the slowest, not for
        their sum (five reads: about one read's time instead of five on a loaded server). A
        read that raises raises here, once all have ended."""
        with self._lock:
            if self._readers is None:
                self._readers = ThreadPoolExecutor(READERS, thread_name_prefix="reads")
        futures = {name: self._readers.submit(read) for name, read in reads.items()}
        wait(futures.values())
        return {name: future.result() for name, future in futures.items()}

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
