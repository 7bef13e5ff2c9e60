"""What the therapist's page tests share, on the console's in-memory wiring (Flask's test client,
the services faked at HTTP): a site and its clinicians as intake answers them, the tests' time
(``NOW``), signing in, coaching requests and the queue's routes, and reading a page; the
``clock`` and ``services`` fixtures, which ``test_console_therapist`` and
``test_console_therapist_clients`` import."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from console import bootstrap
from console.app import create_app
from console.testing import FakeProvider, FakeServices
from dbt_shared.clock import FixedClock

SITE = "site-a"
NOW = datetime(2026, 3, 3, 23, 0, tzinfo=UTC)
CLINICIANS = {
    "items": [
        {"id": "c-theo", "subject": "sub-theo", "display_name": "Theo Therapist", "site_id": SITE},
        {"id": "c-bea", "subject": "sub-bea", "display_name": "Bea Backup", "site_id": SITE},
    ],
    "next_cursor": None,
}


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture
def services():
    fake = FakeServices(bootstrap.settings_for_tests().service_urls)
    fake.on("GET", "intake", "/v1/sites", {"items": [{"id": SITE, "name": "North"}]})
    fake.on("GET", "intake", f"/v1/sites/{SITE}/clinicians", CLINICIANS)
    fake.on(
        "POST",
        "intake",
        "/v1/clients/display-names",
        lambda _q, body: {
            "items": [
                {
                    "client_id": cid,
                    "display_name": {"cl-1": "Ann Example", "cl-2": "Bo Sample"}[cid],
                }
                for cid in body["client_ids"]
                if cid in ("cl-1", "cl-2")
            ]
        },
    )
    return fake


def signed_in(clock, services, roles=("therapist",), sub="sub-theo"):
    provider = FakeProvider(clock)
    provider.sign_in_as("Theo Therapist", list(roles), [SITE], sub=sub)
    client = create_app(bootstrap.in_memory(clock, provider, services)).test_client()
    started = client.get("/auth/sign-in")
    state = parse_qs(urlsplit(started.headers["Location"]).query)["state"][0]
    client.get(f"/auth/callback?code=c&state={state}")
    return client


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def csrf(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def request_(rid, kind, status="open", client="cl-1", **more):
    return {
        "id": rid,
        "client_id": client,
        "site_id": SITE,
        "kind": kind,
        "status": status,
        "crisis": kind == "crisis",
        "notified": ["c-theo", "c-bea"] if kind == "crisis" else ["c-theo"],
        "routed_to": "c-theo",
        "created_at": (NOW - timedelta(minutes=3)).isoformat(),
        "acknowledge_by": (NOW + timedelta(minutes=12)).isoformat(),
        "call_back_by": (NOW + timedelta(minutes=27)).isoformat(),
        "emergency_route": {"number": "988", "text": "If you are in danger call 988 now."},
        "history": more.pop("history", []),
        **more,
    }


def queue_routes(services, items, version="v1"):
    services.on(
        "GET",
        "coaching",
        f"/v1/sites/{SITE}/coaching-queue-version",
        lambda _q, _b: {"site_id": SITE, "version": version_box[0], "in_hand": len(items)},
    )
    version_box = [version]

    def listed(query, _body):
        return {"items": [r for r in items if r["status"] == query["status"]], "next_cursor": None}

    services.on("GET", "coaching", "/v1/coaching-requests", listed)
    return version_box
