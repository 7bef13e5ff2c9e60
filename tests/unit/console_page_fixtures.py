"""The fixtures of the console page tests, on in-memory wiring: the faked services (which know
both sites) and sign-in provider, the console's test client, an operator and a coordinator
signed in. A test module imports all five (a fixture finds the ones it needs by name there)."""

from __future__ import annotations

import pytest
from console_pages_support import NORTH, SOUTH, signed_in

from console import bootstrap
from console.app import create_app
from console.testing import FakeProvider, FakeServices


@pytest.fixture
def provider(clock):
    return FakeProvider(clock)


@pytest.fixture
def services():
    fake = FakeServices(bootstrap.settings_for_tests().service_urls)
    fake.on("GET", "intake", "/v1/sites", {"items": [NORTH, SOUTH], "next_cursor": None})
    return fake


@pytest.fixture
def client(clock, provider, services):
    return create_app(bootstrap.in_memory(clock, provider, services)).test_client()


@pytest.fixture
def operator(client, provider):
    return signed_in(client, provider, "Olivia Operator", ["operator"])


@pytest.fixture
def coordinator(client, provider):
    return signed_in(client, provider, "Carla Coordinator", ["coordinator"], ["site-north"])
