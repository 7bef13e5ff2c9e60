"""The operator's organisation overview on in-memory wiring: one call per service for every
site (never one per site), each figure a link to the list behind it, a service that is down
named while the rest of the page is shown, and the list pages behind the figures."""

from __future__ import annotations

import pytest
from console_pages_support import NORTH, SOUTH, signed_in, text

from console import bootstrap
from console.app import create_app
from console.testing import FakeProvider, FakeServices

WEST = {**NORTH, "id": "site-west", "name": "West Clinic"}
CLIENT_ID = "0d9a1f2e-7c41-4e55-9b0a-1c2d3e4f5a6b"

WAITLIST = {
    "items": [
        {
            "site_id": "site-north",
            "waiting": 5,
            "oldest_waiting_days": 21,
            "programs": [
                {"program": "adult", "waiting": 4, "oldest_waiting_days": 21, "stages": []},
                {"program": "adolescent", "waiting": 1, "oldest_waiting_days": 3, "stages": []},
            ],
        },
        {"site_id": "site-south", "waiting": 0, "oldest_waiting_days": None, "programs": []},
        {"site_id": "site-west", "waiting": 0, "oldest_waiting_days": None, "programs": []},
    ]
}
GROUPS = {
    "items": [
        {
            "site_id": "site-north",
            "seats": 17,
            "filled": 12,
            "free": 5,
            "at_risk": 2,
            "programs": [
                {
                    "program_id": "p1",
                    "program": "adult",
                    "groups": 2,
                    "seats": 17,
                    "filled": 12,
                    "free": 5,
                    "at_risk": 2,
                }
            ],
        },
    ]
}
COACHING = {
    "items": [
        {
            "site_id": "site-north",
            "missed_acknowledgements_7d": 4,
            "rota_set": True,
            "gaps_7d": 2,
            "hours_without_primary_7d": 6.5,
            "hours_without_backup_7d": 8.0,
            "first_gap_at": "2026-03-05T17:00:00+00:00",
        },
        {"site_id": "site-south", "missed_acknowledgements_7d": 0, "rota_set": False},
    ]
}
NOTIFICATIONS = {
    "items": [
        {"site_id": "site-north", "unread_inbox": 3, "failed_deliveries_7d": 7},
        {"site_id": "site-south", "unread_inbox": 0, "failed_deliveries_7d": 0},
    ]
}


@pytest.fixture
def provider(clock):
    return FakeProvider(clock)


@pytest.fixture
def services():
    fake = FakeServices(bootstrap.settings_for_tests().service_urls)
    fake.on("GET", "intake", "/v1/sites", {"items": [NORTH, SOUTH, WEST], "next_cursor": None})
    fake.on("GET", "intake", "/v1/sites/site-north", NORTH)
    fake.on("GET", "intake", "/v1/waitlist-figures", WAITLIST)
    fake.on("GET", "skills-group", "/v1/group-figures", GROUPS)
    fake.on("GET", "coaching", "/v1/coaching-figures", COACHING)
    fake.on("GET", "notifications", "/v1/notification-figures", NOTIFICATIONS)
    return fake


@pytest.fixture
def client(clock, provider, services):
    return create_app(bootstrap.in_memory(clock, provider, services)).test_client()


@pytest.fixture
def operator(client, provider):
    return signed_in(client, provider, "Olivia Operator", ["operator"])


def page_calls(services) -> list[tuple[str, str]]:
    return [(c["service"], c["path"]) for c in services.calls if c["path"] != "/v1/staff/me/roles"]


def test_one_call_per_service_whatever_the_number_of_sites(operator, services):
    services.calls.clear()

    page = operator.get("/organisation")

    assert page.status_code == 200
    assert sorted(page_calls(services)) == [
        ("coaching", "/v1/coaching-figures"),
        ("intake", "/v1/sites"),
        ("intake", "/v1/waitlist-figures"),
        ("notifications", "/v1/notification-figures"),
        ("skills-group", "/v1/group-figures"),
    ]


def test_each_sites_figures_are_shown_each_a_link_to_the_list_behind_it(operator):
    page = operator.get("/organisation")
    html, shown = page.get_data(as_text=True), text(page)

    assert "North Clinic 5 21 days 12 5 2 6.5 hours 4 7 3" in shown
    assert "South Clinic 0 No one waiting 0 0 0 No rota yet 0 0 0" in shown
    for link in (
        "/referrals?site=site-north",
        "/sites/site-north/members-at-risk",
        "/sites/site-north/coverage-gaps",
        "/sites/site-north/failed-deliveries",
        "/sites/site-north/missed-acknowledgements",
        "/inbox?site=site-north",
    ):
        assert f'href="{link}"' in html
    # per program: the waitlist's and the groups' figures side by side
    assert "North Clinic adult 4 21 days 2 12 5 2" in shown
    assert "North Clinic adolescent 1 3 days 0 0 0 0" in shown


@pytest.mark.parametrize(
    ("service", "named"),
    [
        ("skills-group", "Skills groups"),
        ("coaching", "Coaching"),
        ("notifications", "Notifications"),
    ],
)
def test_a_service_that_is_down_is_named_and_the_rest_of_the_page_is_shown(
    operator, services, service, named
):
    services.down.add(service)

    page = operator.get("/organisation")
    shown = text(page)

    assert page.status_code == 200
    assert f"{named} is not answering right now (the {service} service)" in shown
    assert "Unavailable" in shown
    assert "North Clinic 5 21 days" in shown  # intake's figures still there
    assert "Traceback" not in shown


def test_with_intake_down_the_sites_the_others_know_are_shown_by_id(operator, services):
    services.down.add("intake")

    page = operator.get("/organisation")
    shown = text(page)

    assert page.status_code == 200
    assert "Referrals and sites (intake) is not answering right now" in shown
    assert "site-north Unavailable Unavailable 12 5 2 6.5 hours 4 7 3" in shown


def test_the_clients_at_risk_are_named_with_one_call_for_the_page(operator, services):
    services.on(
        "GET",
        "skills-group",
        "/v1/sites/site-north/members-at-risk",
        {
            "site_id": "site-north",
            "items": [
                {
                    "enrollment_id": "e1",
                    "client_id": CLIENT_ID,
                    "group_id": "g1",
                    "group_name": "Tuesday evening",
                    "program_id": "p1",
                }
            ],
        },
    )
    services.on(
        "POST",
        "intake",
        "/v1/clients/display-names",
        {"items": [{"client_id": CLIENT_ID, "display_name": "Alex R."}]},
    )
    services.calls.clear()

    page = operator.get("/sites/site-north/members-at-risk")

    assert page.status_code == 200
    assert "Alex R. Tuesday evening" in text(page)
    assert f'href="/referrals/{CLIENT_ID}"' in page.get_data(as_text=True)
    assert [c["path"] for c in services.calls].count("/v1/clients/display-names") == 1


def test_the_failed_deliveries_of_a_site_in_its_time(operator, services):
    services.on(
        "GET",
        "notifications",
        "/v1/sites/site-north/failed-deliveries",
        {
            "site_id": "site-north",
            "days": 7,
            "items": [
                {
                    "id": "d1",
                    "purpose": "session_reminder",
                    "channel": "sms",
                    "recipient_kind": "client",
                    "recipient_id": CLIENT_ID,
                    "attempts": 5,
                    "failed_at": "2026-03-03T14:00:00+00:00",
                }
            ],
        },
    )

    page = operator.get("/sites/site-north/failed-deliveries")

    assert page.status_code == 200
    assert "Tue 03 Mar 14:00 Session reminder SMS Client 5" in text(page)


def test_the_coverage_gaps_of_a_site_in_its_time(operator, services):
    services.on(
        "GET",
        "coaching",
        "/v1/sites/site-north/coverage",
        {
            "site_id": "site-north",
            "timezone": "America/New_York",
            "timeline": [],
            "gaps": [
                {
                    "start": "2026-03-05T22:00:00+00:00",
                    "end": "2026-03-06T02:00:00+00:00",
                    "missing": "primary",
                }
            ],
        },
    )

    page = operator.get("/sites/site-north/coverage-gaps")

    assert page.status_code == 200
    assert "Primary Thu 05 Mar 17:00 Thu 05 Mar 21:00 4.0" in text(page)


def test_the_missed_acknowledgements_of_a_site_named_with_one_call(operator, services):
    services.on(
        "GET",
        "coaching",
        "/v1/sites/site-north/missed-acknowledgements",
        {
            "site_id": "site-north",
            "days": 7,
            "items": [
                {
                    "request_id": "r1",
                    "kind": "crisis",
                    "client_id": CLIENT_ID,
                    "missed_at": "2026-03-03T09:30:00+00:00",
                }
            ],
        },
    )
    services.on(
        "POST",
        "intake",
        "/v1/clients/display-names",
        {"items": [{"client_id": CLIENT_ID, "display_name": "Alex R."}]},
    )
    services.calls.clear()

    page = operator.get("/sites/site-north/missed-acknowledgements")

    assert page.status_code == 200
    assert "Tue 03 Mar 09:30 Crisis Alex R." in text(page)
    assert [c["path"] for c in services.calls].count("/v1/clients/display-names") == 1


def test_a_coordinator_gets_none_of_these_pages(client, provider):
    coordinator = signed_in(client, provider, "Carla", ["coordinator"], ["site-north"])
    for path in (
        "/organisation",
        "/sites/site-north/members-at-risk",
        "/sites/site-north/coverage-gaps",
        "/sites/site-north/failed-deliveries",
        "/sites/site-north/missed-acknowledgements",
    ):
        assert coordinator.get(path).status_code == 403, path
