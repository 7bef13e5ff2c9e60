"""Intake's composition root: what the api, the worker and the tests run the use cases with.

``bootstrap`` wires the real parts (the process's ``storage`` on MongoDB, the field cipher from
the environment, the system clock); ``in_memory`` wires in-memory repositories and a fresh key
for unit and API tests (no ``storage``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from pymongo.database import Database

from dbt_shared.bootstrap import process_storage
from dbt_shared.clock import Clock, SystemClock
from dbt_shared.idempotency import Idempotency, InMemoryIdempotencyKeys, MongoIdempotencyKeys
from dbt_shared.protection import FieldCipher, StoredResponseSealer
from dbt_shared.storage.context import Storage
from intake import repository
from intake.events import SERVICE
from intake.repository import Repositories


@dataclass
class Components:
    repositories: Repositories
    cipher: FieldCipher
    clock: Clock
    # the Idempotency-Key of creating POSTs: its keys, the first answers sealed (client data)
    idempotency: Idempotency
    storage: Storage | None = None  # what the process's writes share (in memory: none)


def bootstrap(db: Database | None = None, clock: Clock | None = None) -> Components:
    """For the processes: MongoDB (the worker passes its own), the cipher, the system clock."""
    storage = process_storage(SERVICE, db)
    clock = clock or SystemClock()
    cipher = FieldCipher.from_env()  # fail at start-up, not on the first referral
    return Components(
        repositories=repository.mongo(storage, clock),
        cipher=cipher,
        clock=clock,
        idempotency=Idempotency(
            MongoIdempotencyKeys(storage.db), clock, StoredResponseSealer(cipher)
        ),
        storage=storage,
    )


def in_memory(clock: Clock) -> Components:
    """For unit and API tests: in-memory repositories, a fresh key, the given clock."""
    cipher = FieldCipher(os.urandom(32))
    return Components(
        repositories=repository.in_memory(clock),
        cipher=cipher,
        clock=clock,
        idempotency=Idempotency(InMemoryIdempotencyKeys(), clock, StoredResponseSealer(cipher)),
    )
