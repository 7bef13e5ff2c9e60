"""Skills Group's composition root: what its processes and unit tests are built on.

``bootstrap`` wires the process's ``storage`` on MongoDB, the field cipher from the environment
(attendance reasons are health data, sealed at rest) and the system clock; ``in_memory`` wires
in-memory repositories, a cipher with a random key and the given clock for unit and API tests.
``locks`` serialises placements per group (so a group's capacity is never exceeded by two
placements at once): a lock document on the server, a thread lock in memory.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from pymongo.database import Database

from dbt_shared.bootstrap import process_storage, thread_locks
from dbt_shared.clock import Clock, SystemClock
from dbt_shared.protection import FieldCipher
from dbt_shared.storage.context import Storage
from skills_group import repository
from skills_group.events import SERVICE
from skills_group.repository import Repositories


@dataclass
class Components:
    repositories: Repositories
    clock: Clock
    locks: Callable[[str], AbstractContextManager]
    cipher: FieldCipher
    #: Where calendar apps reach this api's public feeds (``PUBLIC_BASE_URL``, the Gateway's
    #: host in production); empty: the address the request came to (dev, tests).
    public_base_url: str = ""
    storage: Storage | None = None  # what the process's writes share (in memory: none)


def bootstrap(db: Database | None = None, clock: Clock | None = None) -> Components:
    """For the processes: MongoDB (the worker passes its own), the cipher, the system clock."""
    storage = process_storage(SERVICE, db)
    clock = clock or SystemClock()
    return Components(
        repositories=repository.mongo(storage, clock),
        clock=clock,
        locks=storage.lock,
        cipher=FieldCipher.from_env(),  # fail at start-up, not on the first attendance record
        public_base_url=os.environ.get("PUBLIC_BASE_URL", "").rstrip("/"),
        storage=storage,
    )


def in_memory(clock: Clock) -> Components:
    """For unit and API tests: in-memory repositories, a random key and the given clock."""
    return Components(
        repositories=repository.in_memory(clock),
        clock=clock,
        locks=thread_locks(),
        cipher=FieldCipher(os.urandom(32)),
    )
