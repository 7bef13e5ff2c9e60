"""Fixtures for every test level.

Unit tests (``tests/unit``) need nothing. Integration and end-to-end tests need the real Kafka
broker and MongoDB-protocol server: explicit ``KAFKA_BOOTSTRAP_SERVERS`` / ``MONGODB_URI`` win;
else Testcontainers when a Docker engine answers; else the project's own local stack (test
profile ports, so a running dev stack is left alone). Missing infrastructure is an error, never
a skip.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from pymongo import MongoClient

from devstack import Profile, Stack, mint_token


def pytest_collection_modifyitems(config, items):
    for item in items:
        path = str(item.fspath)
        if "/tests/integration/" in path:
            item.add_marker(pytest.mark.integration)
        elif "/tests/e2e/" in path:
            item.add_marker(pytest.mark.e2e)
        elif "/tests/contract/" in path:
            item.add_marker(pytest.mark.contract)
    # The contract tests go last: the thousands of requests they make (sites, referrals, mail to
    # the mail catcher) must not crowd what an end-to-end test waits for on the same stack.
    items.sort(key=lambda item: "/tests/contract/" in str(item.fspath))


@dataclass
class Infrastructure:
    profile: Profile
    stack: Stack
    origin: str  # "environment", "testcontainers" or "local stack"

    @property
    def kafka_bootstrap(self) -> str:
        return self.profile.kafka_bootstrap

    @property
    def mongodb_uri(self) -> str:
        return self.profile.mongodb_uri


def _docker_engine_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
    except Exception:
        return False
    return True


@contextlib.contextmanager
def _external_endpoints() -> Iterator[tuple[str | None, str | None, str]]:
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    mongodb = os.environ.get("MONGODB_URI")
    if kafka or mongodb:
        yield kafka, mongodb, "environment"
        return
    if _docker_engine_answers():
        from testcontainers.kafka import KafkaContainer
        from testcontainers.mongodb import MongoDbContainer

        with (
            KafkaContainer("confluentinc/cp-kafka:7.7.1").with_kraft() as kafka_container,
            MongoDbContainer("mongo:7") as mongo_container,
        ):
            yield (
                kafka_container.get_bootstrap_server(),
                mongo_container.get_connection_url(),
                "testcontainers",
            )
        return
    yield None, None, "local stack"


@pytest.fixture(scope="session")
def infra() -> Iterator[Infrastructure]:
    with _external_endpoints() as (kafka, mongodb, origin):
        profile = dataclasses.replace(
            Profile.test(), external_kafka=kafka, external_mongodb=mongodb
        )
        stack = Stack(profile)
        # No skip anywhere: when the infrastructure cannot be had, every test needing it errors.
        stack.start_infrastructure(timeout=180)
        try:
            MongoClient(profile.mongodb_uri, serverSelectionTimeoutMS=10_000).admin.command("ping")
            yield Infrastructure(profile=profile, stack=stack, origin=origin)
        finally:
            stack.stop_all()


@pytest.fixture(scope="session")
def platform(infra: Infrastructure) -> Infrastructure:
    """The whole platform: infrastructure plus the four apis and four workers."""
    infra.stack.start_all(timeout=180, service_timeout=120)
    return infra


@pytest.fixture(scope="session")
def keycloak(infra: Infrastructure) -> Infrastructure:
    """Keycloak, the identity provider (realm ``dbt``, deploy/local/keycloak/realm-dbt.json),
    on the test profile's port: started only for the tests that sign in (it takes longer to
    start than the rest of the infrastructure together). The services trust its tokens."""
    infra.stack.start_keycloak()
    return infra


@pytest.fixture(scope="session")
def console(platform: Infrastructure, keycloak: Infrastructure) -> Infrastructure:
    """The whole platform with Keycloak and the staff console (``profile.console_url``,
    18000 + ``DEVSTACK_PORT_OFFSET``), as ``make run`` starts it on the dev ports."""
    platform.stack.start_console(timeout=120)
    return platform


@pytest.fixture(scope="session")
def monitoring(platform: Infrastructure) -> Infrastructure:
    """The platform with Prometheus (scraping every api and worker, production's rule files) and
    Alertmanager (mailing the test Mailpit) on the test ports, 19090 and 19194 +
    ``DEVSTACK_PORT_OFFSET``, as ``make run`` starts them on 9090 and 9194."""
    platform.stack.start_monitoring()
    return platform


@pytest.fixture(scope="session")
def mongo(infra: Infrastructure) -> Iterator[MongoClient]:
    client = MongoClient(infra.mongodb_uri, tz_aware=True)
    yield client
    client.close()


@pytest.fixture
def fresh_db(mongo: MongoClient):
    """A database of its own for one in-process test."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    yield mongo[name]
    mongo.drop_database(name)


@pytest.fixture(scope="session")
def ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


class Tokens:
    def operator(self) -> str:
        return mint_token(["operator"], [], "op-test")

    def coordinator(self, *sites: str, sub: str = "coord-test") -> str:
        return mint_token(["coordinator"], list(sites), sub)

    def role(self, role: str, *sites: str, sub: str = "someone") -> str:
        return mint_token([role], list(sites), sub)


@pytest.fixture(scope="session")
def tokens() -> Tokens:
    return Tokens()
