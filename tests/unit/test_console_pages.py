"""The console's operator pages on in-memory wiring: the sites with who waits and their seats, a
site added or changed (refusals keep what was typed), its programs beside the standard DBT
values, a service that is down; a coordinator does not get them.

The services' HTTP is faked (console.testing.FakeServices); the service client is the real
one. The sites and the referral are in ``console_pages_support``, the signed-in clients in
``console_page_fixtures``."""

# ruff: noqa: F811 (the tests take the fixtures imported from console_page_fixtures)
from __future__ import annotations

import re

import pytest
from console_page_fixtures import client, coordinator, operator, provider, services  # noqa: F401
from console_pages_support import NORTH, csrf, text, title

from console.domain import program_settings
from console.testing import problem
from intake.domain.programs import default_settings


# -- operator ---------------------------------------------------------------------------------
def test_the_operator_sees_each_site_with_who_waits_and_its_seats(operator, services):
    services.on(
        "GET",
        "intake",
        "/v1/waitlist-figures",
        {
            "items": [
                {"site_id": "site-north", "waiting": 5, "oldest_waiting_days": 21, "programs": []},
                {"site_id": "site-south", "waiting": 0, "oldest_waiting_days": None},
            ]
        },
    )
    services.on(
        "GET",
        "skills-group",
        "/v1/group-figures",
        {"items": [{"site_id": "site-north", "filled": 15, "free": 2, "at_risk": 1}]},
    )
    services.on(
        "GET",
        "notifications",
        "/v1/notification-figures",
        {"items": [{"site_id": "site-north", "unread_inbox": 3, "failed_deliveries_7d": 1}]},
    )
    # coaching offers no organisation-wide figures (404): its columns say so
    page = operator.get("/organisation")
    assert page.status_code == 200
    shown = text(page)
    assert "North Clinic 5 21 days 15 2 1 Unavailable Unavailable 1 3" in shown
    # a site a service has no figures for yet: zeros, the rest of the page shown
    assert "South Clinic 0 No one waiting 0 0 0 Unavailable Unavailable 0 0" in shown
    assert 'href="/inbox?site=site-north"' in page.get_data(as_text=True)
    assert 'href="/referrals?site=site-north"' in page.get_data(as_text=True)


def test_a_service_that_is_down_gives_a_page_naming_it_and_no_trace(operator, services):
    services.on("GET", "intake", "/v1/waitlist-figures", {"items": []})
    services.down.add("skills-group")
    page = operator.get("/organisation")
    assert page.status_code == 200  # the page is shown, the part that is down named
    assert "Skills groups is not answering right now (the skills-group service)" in text(page)
    assert "Nothing was changed" in text(page)
    assert "Traceback" not in text(page) and "ConnectionError" not in text(page)


def test_the_sites_list_links_each_site_by_its_id(operator):
    page = operator.get("/sites")
    assert "North Clinic" in text(page) and "South Clinic" in text(page)
    assert 'href="/sites/site-north"' in page.get_data(as_text=True)


def test_adding_a_site_sends_it_to_intake_once_and_opens_it(operator, services):
    created = {**NORTH, "id": "site-new", "name": "East Clinic"}
    services.on("POST", "intake", "/v1/sites", created)
    form = operator.get("/sites/new").get_data(as_text=True)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', form).group(1)
    answer = operator.post(
        "/sites/new",
        data={
            "csrf_token": csrf(operator),
            "idempotency_key": key,
            "name": " East Clinic ",
            "timezone": "Europe/London",
            "intake_email": "intake@east.example",
            "clinical_lead.name": "Dr Ode",
            "clinical_lead.email": "ode@east.example",
        },
    )
    assert answer.status_code == 303 and answer.headers["Location"] == "/sites/site-new"
    (call,) = [c for c in services.calls if c["method"] == "POST"]
    assert call["body"] == {
        "name": "East Clinic",
        "timezone": "Europe/London",
        "intake_email": "intake@east.example",
        "clinical_lead": {"name": "Dr Ode", "email": "ode@east.example"},
    }
    assert call["headers"]["Idempotency-Key"] == key


def test_a_refused_site_shows_each_message_at_its_field_and_keeps_the_values(operator, services):
    services.on(
        "POST",
        "intake",
        "/v1/sites",
        problem(
            422,
            "invalid",
            [
                {"field": "timezone", "location": "json", "message": "Not an IANA time zone name."},
                {
                    "field": "intake_email",
                    "location": "json",
                    "message": "Missing data for required field.",
                },
            ],
        ),
    )
    answer = operator.post(
        "/sites/new",
        data={
            "csrf_token": csrf(operator),
            "name": "East Clinic",
            "timezone": "Mars/Olympus",
        },
    )
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert title(answer).startswith("Error: Add a site")
    assert "There is a problem" in text(answer)
    timezone_group = html[
        html.index('for="f-timezone"') - 200 : html.index('id="f-timezone"') + 200
    ]
    assert (
        "Not an IANA time zone name." in timezone_group and 'value="Mars/Olympus"' in timezone_group
    )
    assert "Enter the address referrals are sent to" in html  # the page's words for "missing"
    assert 'href="#f-intake-email"' in html  # the summary links to the field
    assert 'value="East Clinic"' in html


def test_a_sites_programs_show_each_setting_beside_the_standard_dbt_value(operator, services):
    services.on("GET", "intake", "/v1/sites/site-north", NORTH)
    settings = {**program_settings.STANDARD["adult"], "group_capacity": 9}
    services.on(
        "GET",
        "intake",
        "/v1/sites/site-north/programs",
        {"items": [{"id": "site-north:adult", "kind": "adult", "settings": settings}]},
    )
    services.on("GET", "intake", "/v1/sites/site-north/clinicians", {"items": []})
    page = operator.get("/sites/site-north")
    shown = text(page)
    assert "Adult program" in shown
    assert "Group capacity The most clients one skills group takes" in shown
    assert "Changed 9 clients 8 clients" in shown  # the site's value, then the standard one
    assert (
        "Consecutive missed sessions before discharge" in shown and "4 sessions 4 sessions" in shown
    )


@pytest.mark.parametrize("kind", ["adult", "adolescent"])
def test_the_standard_values_shown_are_intakes_defaults(kind):
    assert program_settings.STANDARD[kind] == vars(default_settings(kind))


def test_a_coordinator_does_not_get_the_operators_pages(coordinator, services):
    for path in ("/organisation", "/sites", "/sites/new"):
        page = coordinator.get(path)
        assert page.status_code == 403 and "You do not have access" in text(page)
    assert not [c for c in services.calls if c["path"].startswith("/v1/waitlist")]


def test_changing_a_site_sends_only_what_changed_and_can_remove_the_clinical_lead(
    operator, services
):
    lead = {"name": "Dr Lee", "email": "lee@north.example", "phone": None}
    services.on("GET", "intake", "/v1/sites/site-north", {**NORTH, "clinical_lead": lead})
    services.on("PATCH", "intake", "/v1/sites/site-north", NORTH)
    form = operator.get("/sites/site-north/edit").get_data(as_text=True)
    assert 'value="North Clinic"' in form and 'value="Dr Lee"' in form
    token = re.search(r'name="csrf-token" content="([^"]+)"', form).group(1)
    base = {
        "csrf_token": token,
        "name": "North Clinic",
        "timezone": "Europe/London",
        "intake_email": "intake@north.example",
    }
    answer = operator.post(
        "/sites/site-north/edit",
        data={
            **base,
            "timezone": "Europe/Dublin",
            "clinical_lead.name": "Dr Lee",
            "clinical_lead.email": "lee@north.example",
        },
    )
    assert answer.status_code == 303 and answer.headers["Location"] == "/sites/site-north"
    operator.post("/sites/site-north/edit", data=base)  # the lead's fields emptied
    patches = [c["body"] for c in services.calls if c["method"] == "PATCH"]
    assert patches == [{"timezone": "Europe/Dublin"}, {"clinical_lead": None}]


def test_a_refused_site_change_keeps_what_was_typed(operator, services):
    services.on("GET", "intake", "/v1/sites/site-north", NORTH)
    services.on(
        "PATCH",
        "intake",
        "/v1/sites/site-north",
        problem(
            422,
            "invalid",
            [{"field": "timezone", "location": "json", "message": "Not an IANA time zone name."}],
        ),
    )
    token = csrf(operator)
    answer = operator.post(
        "/sites/site-north/edit",
        data={
            "csrf_token": token,
            "name": "North Clinic",
            "timezone": "Mars/Olympus",
            "intake_email": "intake@north.example",
        },
    )
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert "Not an IANA time zone name." in html and 'value="Mars/Olympus"' in html
    assert title(answer).startswith("Error: Change a site")
