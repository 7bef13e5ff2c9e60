"""The operator's staff pages: the staff directory (who works at which site, in which roles),
add a member with their roles at each site, change them, deactivate one who left."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from console import bootstrap
from console.app import create_app
from console.testing import FakeProvider, FakeServices, problem

CARLA = "0c1e0000-0000-4000-8000-00000000000b"
SITES = {
    "items": [
        {"id": "site-north", "name": "North Clinic"},
        {"id": "site-south", "name": "South Clinic"},
    ]
}
MEMBER = {
    "id": CARLA,
    "display_name": "Carla Costa",
    "active": True,
    "memberships": [{"site_id": "site-north", "roles": ["coordinator"]}],
}


@pytest.fixture
def services():
    fake = FakeServices(bootstrap.settings_for_tests().service_urls)
    fake.on("GET", "intake", "/v1/sites", SITES)
    fake.on("GET", "intake", "/v1/staff", {"items": [MEMBER], "next_cursor": None})
    fake.on("GET", "intake", f"/v1/staff/{CARLA}", MEMBER)
    return fake


@pytest.fixture
def operator(clock, services):
    provider = FakeProvider(clock)
    provider.sign_in_as("Olivia Operator", ["operator"])
    client = create_app(bootstrap.in_memory(clock, provider, services)).test_client()
    started = client.get("/auth/sign-in")
    state = parse_qs(urlsplit(started.headers["Location"]).query)["state"][0]
    client.get(f"/auth/callback?code=c&state={state}")
    return client


def csrf(client) -> str:
    html = client.get("/staff").get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def puts(services) -> list[dict]:
    return [c for c in services.calls if c["method"] == "PUT"]


def test_the_staff_list_shows_each_members_roles_by_site_name(operator):
    html = operator.get("/staff").get_data(as_text=True)
    shown = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert "Carla Costa North Clinic: intake coordinator Deactivate" in shown
    assert f'href="/staff/{CARLA}"' in html


def test_adding_a_member_sends_their_roles_at_each_site(operator, services):
    services.on("PUT", "intake", "/v1/staff/theo-id", {**MEMBER, "id": "theo-id"})
    answer = operator.post(
        "/staff/new",
        data={
            "csrf_token": csrf(operator),
            "subject": "theo-id",
            "display_name": "Theo Park",
            "roles.site-north": ["therapist", "facilitator"],
            "roles.site-south": ["therapist"],
        },
    )
    assert answer.status_code == 303 and answer.headers["Location"] == "/staff"
    (call,) = puts(services)
    assert call["path"] == "/v1/staff/theo-id"
    assert call["body"] == {
        "display_name": "Theo Park",
        "memberships": [
            {"site_id": "site-north", "roles": ["therapist", "facilitator"]},
            {"site_id": "site-south", "roles": ["therapist"]},
        ],
    }


def test_changing_a_member_starts_from_their_roles_and_can_remove_a_site(operator, services):
    services.on("PUT", "intake", f"/v1/staff/{CARLA}", MEMBER)
    html = operator.get(f"/staff/{CARLA}").get_data(as_text=True)
    assert re.search(r'name="roles.site-north" type="checkbox" value="coordinator" checked', html)
    assert 'value="Carla Costa"' in html
    operator.post(
        f"/staff/{CARLA}", data={"csrf_token": csrf(operator), "display_name": "Carla Costa"}
    )
    (call,) = puts(services)
    assert call["body"] == {"display_name": "Carla Costa", "memberships": []}


def test_a_refused_member_keeps_what_was_typed(operator, services):
    services.on(
        "PUT",
        "intake",
        "/v1/staff/theo-id",
        problem(
            422,
            "invalid",
            [
                {
                    "field": "display_name",
                    "location": "json",
                    "message": "Missing data for required field.",
                }
            ],
        ),
    )
    answer = operator.post(
        "/staff/new",
        data={
            "csrf_token": csrf(operator),
            "subject": "theo-id",
            "roles.site-south": ["therapist"],
        },
    )
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert "Enter the person&#39;s name" in html and 'value="theo-id"' in html
    assert re.search(r'name="roles.site-south" type="checkbox" value="therapist" checked', html)


def test_deactivating_a_member_asks_intake(operator, services):
    services.on("POST", "intake", f"/v1/staff/{CARLA}/deactivation", {**MEMBER, "active": False})
    answer = operator.post(f"/staff/{CARLA}/deactivation", data={"csrf_token": csrf(operator)})
    assert answer.status_code == 303
    assert [c["path"] for c in services.calls if c["method"] == "POST"] == [
        f"/v1/staff/{CARLA}/deactivation"
    ]
