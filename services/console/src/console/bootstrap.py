"""The console's composition root: what the web app runs with.

``bootstrap`` wires the real parts (settings from the environment, MongoDB sessions, the OIDC
provider, the services over HTTP, the system clock); ``in_memory`` wires in-memory sessions, a
fake provider and a fake transport to the services for unit and page tests.
"""

from __future__ import annotations

from dataclasses import dataclass

from pymongo.database import Database

from console.client import ServiceClient, Transport
from console.identity import IdentityProvider, OidcProvider
from console.monitoring import Monitoring
from console.sessions import MemorySessionStore, MongoSessionStore, SessionStore
from console.settings import SERVICE_URL_VARIABLES, ConsoleSettings
from dbt_shared.clock import Clock, SystemClock
from dbt_shared.storage.mongo import Mongo

SERVICE = "console"


@dataclass
class Components:
    settings: ConsoleSettings
    sessions: SessionStore
    identity: IdentityProvider
    services: ServiceClient
    clock: Clock
    monitoring: Monitoring


def bootstrap(db: Database | None = None, clock: Clock | None = None) -> Components:
    """For the process, as in every service: its settings from the environment, sessions in
    ``console.sessions`` (of ``db`` when given), the real provider, the system clock."""
    settings = ConsoleSettings.from_env()
    if db is None:
        db = Mongo(settings.mongodb_uri).database(settings.mongodb_database)
    store = MongoSessionStore(db, settings.session_idle_s)
    return Components(
        settings=settings,
        sessions=store,
        identity=OidcProvider(settings),
        services=ServiceClient(settings.service_urls, timeout_s=settings.service_timeout_s),
        clock=clock or SystemClock(),
        monitoring=Monitoring(
            settings.prometheus_url,
            settings.alertmanager_url,
            timeout_s=settings.service_timeout_s,
        ),
    )


def settings_for_tests(**overrides) -> ConsoleSettings:
    values = {
        "base_url": "http://127.0.0.1:18000",
        "secret_key": "unit-test-secret-key-of-at-least-32-chars",
        "oidc_issuer": "http://127.0.0.1:18180/realms/dbt",
        "oidc_client_id": "dbt-console",
        "oidc_client_secret": "unit-test",
        "service_urls": {name: f"http://{name}.test" for name in SERVICE_URL_VARIABLES},
    }
    values.update(overrides)
    return ConsoleSettings(**values)


def in_memory(
    clock: Clock, identity: IdentityProvider, transport: Transport, **settings
) -> Components:
    """For unit and page tests: the given clock, provider and transport, sessions in memory.
    Prometheus and Alertmanager are real HTTP (a test gives ``prometheus_url`` of a local
    stand-in); none is configured unless given."""
    config = settings_for_tests(**settings)
    return Components(
        settings=config,
        sessions=MemorySessionStore(),
        identity=identity,
        services=ServiceClient(config.service_urls, transport=transport, timeout_s=1.0),
        clock=clock,
        monitoring=Monitoring(config.prometheus_url, config.alertmanager_url, timeout_s=1.0),
    )
