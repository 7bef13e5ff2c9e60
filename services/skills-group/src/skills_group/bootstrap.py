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

from dbt_shared.bootstrap import sealed_components, sealed_in_memory
from dbt_shared.clock import Clock
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
    """For the processes: MongoDB (the worker passes its own), the cipher, the system clock, and
    where calendar apps reach the feeds."""
    public_base_url = os.environ.get("PUBLIC_BASE_URL", "").rstrip("/")
    return sealed_components(
        Components, SERVICE, repository, db, clock, public_base_url=public_base_url
    )


def in_memory(clock: Clock) -> Components:
    """For unit and API tests: in-memory repositories, a random key and the given clock."""
    return sealed_in_memory(Components, repository, clock)
