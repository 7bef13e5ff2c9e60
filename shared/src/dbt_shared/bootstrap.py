"""The part of a service's composition root that is the same in every service.

A service's ``bootstrap.py`` builds its components (``bootstrap()`` for the processes,
``in_memory(clock)`` for unit tests); its ``app.py`` and ``worker.py`` hand those and the modules
the service shape names (``docs/service-shape.md``) to ``service_app`` and ``service_worker``,
so each is a few lines. Each module declares its part once:

- ``events``: ``SERVICE`` (the service's name) and ``CATALOG`` (the event types it publishes and
  consumes; their topics are created when the worker starts);
- ``api``: ``TITLE`` and ``DESCRIPTION`` (of the OpenAPI document) and ``BLUEPRINTS`` (the
  ``/v1`` resources);
- ``repository``: ``OUTBOX_COLLECTIONS`` (the collections whose documents carry pending events
  for the relay) and ``ensure_indexes(db)`` (run by both processes at start);
- ``handlers``: ``handlers(components)``, event type -> handler, each calling the service layer;
- ``timers``: ``timers(components)``, the periodic jobs, each calling the service layer.

What every ``bootstrap`` builds the same way is here: ``process_storage`` (the process's
database and what its writes share, ``dbt_shared.storage.context.Storage``, held on the
components as ``storage``) and ``thread_locks`` (the in-memory stand-in of a lock document);
for a service whose components are repositories, a field cipher and named locks (coaching,
skills-group), ``sealed_components`` and ``sealed_in_memory`` build them whole.
Every long-lived object of a process is built by its ``bootstrap`` (or by ``service_app`` /
``service_worker`` for the api's and worker's own parts) and held there: no module keeps state.

Nothing here knows a particular service.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from flask import Flask
from marshmallow import fields
from pymongo.database import Database

from dbt_shared.clock import Clock, SystemClock
from dbt_shared.config import Settings
from dbt_shared.events.catalog import Catalog
from dbt_shared.events.consumer import Handler
from dbt_shared.protection import FieldCipher
from dbt_shared.storage.context import Storage
from dbt_shared.storage.mongo import Mongo
from dbt_shared.web import Blueprint, create_service_app
from dbt_shared.worker import Timer, Wiring, WorkerContext, run_worker


class EventsModule(Protocol):
    SERVICE: str
    CATALOG: Catalog


class ApiPackage(Protocol):
    TITLE: str
    DESCRIPTION: str
    BLUEPRINTS: list[Blueprint]


class RepositoryModule(Protocol):
    OUTBOX_COLLECTIONS: list[str]

    def ensure_indexes(self, db: Database) -> None: ...


class HandlersModule(Protocol):
    def handlers(self, components: Any) -> dict[str, Handler]: ...


class TimersModule(Protocol):
    def timers(self, components: Any) -> list[Timer]: ...


class WithClock(Protocol):
    @property
    def clock(self) -> Clock: ...


def process_storage(service: str, db: Database | None = None) -> Storage:
    """The storage of this process: on ``db`` (the worker passes its own), or on the database
    the environment names for ``service`` (``MONGODB_URI``, ``MONGODB_DATABASE``)."""
    if db is None:
        settings = Settings.from_env(service)
        db = Mongo(settings.mongodb_uri).database(settings.mongodb_database)
    return Storage(db)


def thread_locks() -> Callable[[str], AbstractContextManager]:
    """``locks`` for in-memory components: one thread lock per name (a lock document's
    stand-in, ``Storage.lock``, in unit tests)."""
    held: dict[str, threading.Lock] = {}
    guard = threading.Lock()

    def lock(name: str) -> threading.Lock:
        with guard:
            return held.setdefault(name, threading.Lock())

    return lock


class RepositoryWiring(Protocol):
    """A repository module's two wirings (``repository.mongo`` and ``repository.in_memory``)."""

    def mongo(self, storage: Storage, clock: Clock) -> Any: ...

    def in_memory(self, clock: Clock) -> Any: ...


def sealed_components(
    components: Callable[..., Any],
    service: str,
    repository: RepositoryWiring,
    db: Database | None = None,
    clock: Clock | None = None,
    **more: Any,
) -> Any:
    """A process's ``components``: the service's repositories on the process's storage
    (``process_storage``), the field cipher from the environment (failing at start-up, not on
    the first record it seals), named locks as lock documents, the system clock unless given;
    ``more`` as the service has them."""
    storage = process_storage(service, db)
    clock = clock or SystemClock()
    return components(
        repositories=repository.mongo(storage, clock),
        cipher=FieldCipher.from_env(),
        clock=clock,
        locks=storage.lock,
        storage=storage,
        **more,
    )


def sealed_in_memory(
    components: Callable[..., Any], repository: RepositoryWiring, clock: Clock
) -> Any:
    """Unit and API tests' ``components``: in-memory repositories, a random key, thread locks
    and the given clock (no storage)."""
    return components(
        repositories=repository.in_memory(clock),
        cipher=FieldCipher(os.urandom(32)),
        clock=clock,
        locks=thread_locks(),
    )


@dataclass(frozen=True)
class Components:
    """The components of a service whose use cases need nothing but the clock: one with no
    aggregate of its own yet. A service with aggregates defines its own ``Components`` in its
    ``bootstrap.py`` (its repositories, audit log, clients... and a ``clock``)."""

    clock: Clock


def service_app(
    events: EventsModule,
    api: ApiPackage,
    repository: RepositoryModule,
    components: WithClock,
    *,
    problem_members: dict[str, fields.Field] | None = None,
) -> Flask:
    """The api of ``events.SERVICE``: its blueprints on ``components`` (views reach them with
    ``dbt_shared.web.components()``), on the components' clock, its indexes made at start."""
    return create_service_app(
        events.SERVICE,
        title=api.TITLE,
        description=api.DESCRIPTION,
        blueprints=api.BLUEPRINTS,
        components=components,
        clock=components.clock,
        on_start=lambda ctx: repository.ensure_indexes(ctx.db),
        problem_members=problem_members,
        catalog=events.CATALOG,
    )


def service_worker(
    events: EventsModule,
    repository: RepositoryModule,
    handlers: HandlersModule,
    timers: TimersModule,
    bootstrap: Callable[[Database, Clock], Any],
) -> None:
    """Run the worker of ``events.SERVICE``: the relay of its outbox collections, the consumer of
    its handlers and its timers, both on the components ``bootstrap(db, clock)`` builds on the
    worker's database and clock; its indexes made at start."""

    def wire(ctx: WorkerContext) -> Wiring:
        built = bootstrap(ctx.db, ctx.clock)
        return Wiring(
            handlers.handlers(built),
            timers.timers(built),
            fetch_wait_ms=getattr(handlers, "FETCH_WAIT_MS", 0),
            in_send_order=getattr(handlers, "IN_SEND_ORDER", False),
            first_topics=getattr(handlers, "FIRST_TOPICS", ()),
            urgent_topics=getattr(handlers, "URGENT_TOPICS", ()),
            storage=getattr(built, "storage", None),
        )

    run_worker(
        events.SERVICE,
        catalog=events.CATALOG,
        outbox_collections=repository.OUTBOX_COLLECTIONS,
        wire=wire,
        prepare=lambda ctx: repository.ensure_indexes(ctx.db),
    )
