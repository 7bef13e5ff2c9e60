"""Skills Group's composition root: what its processes and unit tests are built on.

``bootstrap`` wires MongoDB, the field cipher from the environment (attendance reasons are
health data, sealed at rest) and the system clock; ``in_memory`` wires in-memory repositories,
a cipher with a random key and the given clock for unit and API tests. ``locks`` serialises
placements per group (so a group's capacity is never exceeded by two placements at once): a lock
document on the server, a thread lock in memory.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from pymongo.database import Database

from dbt_shared.clock import Clock, SystemClock
from dbt_shared.config import Settings
from dbt_shared.protection import FieldCipher
from dbt_shared.storage import mongo
from dbt_shared.storage.documents import DocumentLock
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


def bootstrap(db: Database | None = None, clock: Clock | None = None) -> Components:
    """For the processes: MongoDB (the worker passes its own), the cipher, the system clock."""
    if db is None:
        settings = Settings.from_env(SERVICE)
        db = mongo.database(settings.mongodb_uri, settings.mongodb_database)
    clock = clock or SystemClock()
    return Components(
        repositories=repository.mongo(db, clock),
        clock=clock,
        locks=lambda name: DocumentLock(db, name),
        cipher=FieldCipher.from_env(),  # fail at start-up, not on the first attendance record
        public_base_url=os.environ.get("PUBLIC_BASE_URL", "").rstrip("/"),
    )


def in_memory(clock: Clock) -> Components:
    """For unit and API tests: in-memory repositories, a random key and the given clock."""
    held: dict[str, threading.Lock] = {}
    guard = threading.Lock()

    def lock(name: str) -> threading.Lock:
        with guard:
            return held.setdefault(name, threading.Lock())

    return Components(
        repositories=repository.in_memory(clock),
        clock=clock,
        locks=lock,
        cipher=FieldCipher(os.urandom(32)),
    )
