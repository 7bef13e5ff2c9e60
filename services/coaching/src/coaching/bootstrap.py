"""Coaching's composition root: what its processes and unit tests are built on.

``bootstrap`` wires the process's ``storage`` on MongoDB, the field cipher from the environment
(diary cards, check-ins, goals and closure notes are health data, sealed at rest) and the system
clock; ``in_memory`` wires in-memory repositories, a fresh key and the given clock for unit and
API tests. ``locks`` serialises the changes of one request (a deadline never fires twice, an
acknowledgement and an escalation never cross): a lock document on the server, a thread lock in
memory.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from pymongo.database import Database

from coaching import repository
from coaching.events import SERVICE
from coaching.repository import Repositories
from dbt_shared.bootstrap import sealed_components, sealed_in_memory
from dbt_shared.clock import Clock
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
    return sealed_components(Components, SERVICE, repository, db, clock)


def in_memory(clock: Clock) -> Components:
    """For unit and API tests: in-memory repositories, a fresh key and the given clock."""
    return sealed_in_memory(Components, repository, clock)
