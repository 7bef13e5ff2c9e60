"""Fixtures for unit and API tests: no broker, no database.

API tests build a service's Flask app on its in-memory wiring (``bootstrap.in_memory``) and call
it with Flask's test client and real signed tokens (the dev key pair, made if missing).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dbt_shared.clock import FixedClock
from devstack import mint_token, paths
from devstack.tokens import ensure_jwt_keys


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 3, 15, 0, tzinfo=UTC))


@pytest.fixture
def api_env(monkeypatch):
    """The environment a service app reads at start-up, pointing at nothing real."""
    ensure_jwt_keys()
    monkeypatch.setenv("AUTH_PUBLIC_KEY_FILE", str(paths.JWT_PUBLIC_KEY))
    monkeypatch.setenv("AUTH_SITE_ROLES_FROM", "token")  # the dev key's claims, as in dev/test
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    monkeypatch.setenv("MONGODB_URI", "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=50")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")


def bearer(roles: list[str] | str, sites: list[str] | str = (), sub: str = "someone") -> dict:
    """``Authorization`` header with a dev token for ``roles`` on ``sites``."""
    return {"Authorization": "Bearer " + mint_token(roles, sites, sub)}


@pytest.fixture
def auth():
    return bearer
