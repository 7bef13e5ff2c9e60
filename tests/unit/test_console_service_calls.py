"""What a page costs, on in-memory wiring: every page says how many calls it made to the
services (``Console-Service-Calls``, read by ``make bench``) and its server time
(``Server-Timing``); a list page makes the same calls for one row as for a full page, never one
per row. Counted by the console's own service client; the services' HTTP is faked."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from console import bootstrap
from console.app import create_app
from console.testing import FakeProvider, FakeServices

SITE = {"id": "site-north", "name": "North Clinic", "timezone": "Europe/London"}


def _id(n: int) -> str:
    return f"0d9a1f2e-7c41-4e55-9b0a-{n:012d}"


def _referral(n: int) -> dict:
    return {
        "id": _id(n),
        "program": "adult",
        "status": "screening",
        "source": "GP",
        "received_at": "2026-02-01T10:00:00Z",
    }


def _waiting(n: int) -> dict:
    return {"referral_id": _id(n), "program": "adult", "stage": "received", "waiting_days": n}


def _inbox_item(n: int) -> dict:
    return {
        "id": f"item-{n}",
        "kind": "referral_received",
        "referral_id": _id(n),
        "priority": "normal",
        "created_at": "2026-02-01T10:00:00Z",
        "read_at": None,
    }


def _member(n: int) -> dict:
    return {
        "id": f"member-{n}",
        "display_name": f"Member {n}",
        "active": True,
        "memberships": [{"site_id": "site-north", "roles": ["coordinator"]}],
    }


def _services(rows: int) -> FakeServices:
    """The services answering ``rows`` rows on every list (names for each client)."""
    fake = FakeServices(bootstrap.settings_for_tests().service_urls)
    fake.on("GET", "intake", "/v1/sites", {"items": [SITE], "next_cursor": None})
    fake.on(
        "GET",
        "intake",
        "/v1/waitlist",
        {
            "stages": [{"stage": "received", "count": rows}],
            "items": [_waiting(n) for n in range(rows)],
        },
    )
    fake.on(
        "GET",
        "intake",
        "/v1/referrals",
        {"items": [_referral(n) for n in range(rows)], "next_cursor": None},
    )
    fake.on(
        "GET",
        "intake",
        "/v1/waitlist-figures",
        {"items": [{"site_id": "site-north", "programs": [{"program": "adult", "stages": []}]}]},
    )
    fake.on(
        "POST",
        "intake",
        "/v1/clients/display-names",
        lambda q, body: {
            "items": [{"client_id": i, "display_name": "A Client"} for i in body["client_ids"]]
        },
    )
    fake.on("GET", "notifications", "/v1/inbox", {"items": [_inbox_item(n) for n in range(rows)]})
    fake.on("GET", "notifications", "/v1/sites/site-north/inbox/unread-count", {"unread": rows})
    fake.on("GET", "intake", "/v1/staff", {"items": [_member(n) for n in range(rows)]})
    return fake


def _signed_in_operator(clock, services):
    provider = FakeProvider(clock)
    client = create_app(bootstrap.in_memory(clock, provider, services)).test_client()
    provider.sign_in_as("Olivia Operator", ["operator"], [])
    started = client.get("/auth/sign-in")
    state = parse_qs(urlsplit(started.headers["Location"]).query)["state"][0]
    client.get(f"/auth/callback?code=c&state={state}")
    return client


LIST_PAGES = {
    "waitlist, oldest first": ("/referrals", "A Client"),
    "referral queue of one stage": ("/referrals?stage=screening", "A Client"),
    "site inbox": ("/inbox", "item-"),
    "staff list": ("/staff", "Member "),
}


def _cost(clock, rows: int, path: str, shown: str) -> tuple[int, int]:
    services = _services(rows)
    client = _signed_in_operator(clock, services)
    before = len(services.calls)
    page = client.get(path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count(shown) >= rows  # every row is on the page
    reported = int(page.headers["Console-Service-Calls"])
    return reported, len(services.calls) - before


@pytest.mark.parametrize("name", sorted(LIST_PAGES))
def test_a_list_page_makes_the_same_calls_for_fifty_rows_as_for_one(clock, name):
    path, shown = LIST_PAGES[name]
    one = _cost(clock, 1, path, shown)
    fifty = _cost(clock, 50, path, shown)
    assert one[0] == one[1] and fifty[0] == fifty[1]  # the header counts every call made
    assert fifty[0] == one[0], f"{name}: {one[0]} calls for 1 row, {fifty[0]} for 50"


def test_a_page_reports_its_server_time_and_its_calls_and_no_one_s_data(clock):
    client = _signed_in_operator(clock, _services(3))
    page = client.get("/referrals")
    timing = page.headers["Server-Timing"]
    assert re.fullmatch(r"app;dur=\d+\.\d, services;dur=\d+\.\d", timing), timing
    assert page.headers["Console-Service-Calls"] == "3"  # the sites, the waitlist, the names
    assert "Server-Timing" not in client.get("/static/not-there.css").headers
