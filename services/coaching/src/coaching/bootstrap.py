"""Coaching's composition root: what its processes and unit tests are built on.

``bootstrap`` wires the process's ``storage`` on MongoDB, the field cipher from the environment
(diary cards, check-ins, goals and closure notes are health data, sealed at rest) and the system
clock; ``in_memory`` wires in-memory repositories, a fresh key and the given clock for unit and
API tests. ``locks`` serialises the changes of one request (a deadline never fires twice, an
acknowledgement and an escalation never cross): a lock document on the server, a thread lock in
memory.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from pymongo.database import Database

from coaching import repository
from coaching.events import SERVICE
from coaching.repository import Repositories
from dbt_shared.bootstrap import process_storage, thread_locks
from dbt_shared.clock import Clock, SystemClock
from dbt_shared.protection import FieldCipher
from dbt_shared.storage.context import Storage


@dataclass
class Components:
    repositories: Repositories
    cipher: FieldCipher
    clock: Clock
    locks: Callable[[str], AbstractContextManager]
    storage: Storage | None = None  # what the process's writes share (in memory: none)


def bootstrap(db: Database | None = None, clock: Clock | None = None) -> Components:
    """For the processes: MongoDB (the worker passes its own), the cipher, the system clock."""
    storage = process_storage(SERVICE, db)
    clock = clock or SystemClock()
    return Components(
        repositories=repository.mongo(storage, clock),
        cipher=FieldCipher.from_env(),  # fail at start-up, not on the first diary card
        clock=clock,
        locks=storage.lock,
        storage=storage,
    )


def in_memory(clock: Clock) -> Components:
    """For unit and API tests: in-memory repositories, a fresh key and the given clock."""
    return Components(
        repositories=repository.in_memory(clock),
        cipher=FieldCipher(os.urandom(32)),
        clock=clock,
        locks=thread_locks(),
    )
