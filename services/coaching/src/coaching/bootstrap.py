"""Coaching's composition root: what its processes and unit tests are built on.

``bootstrap`` wires MongoDB, the field cipher from the environment (diary cards, check-ins,
goals and closure notes are health data, sealed at rest) and the system clock; ``in_memory``
wires in-memory repositories, a fresh key and the given clock for unit and API tests.
``locks`` serialises the changes of one request (a deadline never fires twice, an
acknowledgement and an escalation never cross): a lock document on the server, a thread lock in
memory.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from pymongo.database import Database

from coaching import repository
from coaching.events import SERVICE
from coaching.repository import Repositories
from dbt_shared.clock import Clock, SystemClock
from dbt_shared.config import Settings
from dbt_shared.protection import FieldCipher
from dbt_shared.storage import mongo
from dbt_shared.storage.documents import DocumentLock


@dataclass
class Components:
    repositories: Repositories
    cipher: FieldCipher
    clock: Clock
    locks: Callable[[str], AbstractContextManager]


def bootstrap(db: Database | None = None, clock: Clock | None = None) -> Components:
    """For the processes: MongoDB (the worker passes its own), the cipher, the system clock."""
    if db is None:
        settings = Settings.from_env(SERVICE)
        db = mongo.database(settings.mongodb_uri, settings.mongodb_database)
    clock = clock or SystemClock()
    return Components(
        repositories=repository.mongo(db, clock),
        cipher=FieldCipher.from_env(),  # fail at start-up, not on the first diary card
        clock=clock,
        locks=lambda name: DocumentLock(db, name),
    )


def in_memory(clock: Clock) -> Components:
    """For unit and API tests: in-memory repositories, a fresh key and the given clock."""
    held: dict[str, threading.Lock] = {}
    guard = threading.Lock()

    def lock(name: str) -> threading.Lock:
        with guard:
            return held.setdefault(name, threading.Lock())

    return Components(
        repositories=repository.in_memory(clock),
        cipher=FieldCipher(os.urandom(32)),
        clock=clock,
        locks=lock,
    )
