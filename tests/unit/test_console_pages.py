"""The console's pages on in-memory wiring: what an operator and a coordinator see, what a
refusal or a service that is down looks like, and that no client data reaches a URL or a title.
The services' HTTP is faked (console.testing.FakeServices); the service client is the real one."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from console import bootstrap
from console.app import create_app
from console.domain import program_settings
from console.testing import FakeProvider, FakeServices, problem
from intake.domain.programs import default_settings

NORTH = {
    "id": "site-north",
    "name": "North Clinic",
    "timezone": "Europe/London",
    "intake_email": "intake@north.example",
    "clinical_lead": None,
}
SOUTH = {**NORTH, "id": "site-south", "name": "South Clinic"}
REFERRAL_ID = "0d9a1f2e-7c41-4e55-9b0a-1c2d3e4f5a6b"
REFERRAL = {
    "id": REFERRAL_ID,
    "site_id": "site-north",
    "program": "adult",
    "source": "GP",
    "status": "screening",
    "consent_to_contact": True,
    "received_at": "2026-02-01T10:00:00Z",
    "client": {
        "given_name": "Alex",
        "family_name": "Rivera",
        "date_of_birth": "1994-03-17",
        "email": "alex@example.org",
        "phone": "+44 20 7946 0000",
        "preferred_channel": "sms",
        "language": "en",
    },
    "screenings": [],
    "history": [],
}


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


def signed_in(client, provider, name, roles, sites=()):
    provider.sign_in_as(name, list(roles), list(sites))
    started = client.get("/auth/sign-in")
    state = parse_qs(urlsplit(started.headers["Location"]).query)["state"][0]
    client.get(f"/auth/callback?code=c&state={state}")
    return client


def csrf(client) -> str:
    page = client.get("/home", follow_redirects=True).get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


@pytest.fixture
def operator(client, provider):
    return signed_in(client, provider, "Olivia Operator", ["operator"])


@pytest.fixture
def coordinator(client, provider):
    return signed_in(client, provider, "Carla Coordinator", ["coordinator"], ["site-north"])


def text(response) -> str:
    """What a sighted reader sees, in order (a responsive table's narrow-screen labels left out)."""
    html = re.sub(
        r'<span class="nhsuk-table-responsive__heading"[^>]*>[^<]*</span>',
        "",
        response.get_data(as_text=True),
    )
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def title(response) -> str:
    return re.search(r"<title>(.*?)</title>", response.get_data(as_text=True), re.S).group(1)


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


# -- coordinator ------------------------------------------------------------------------------
def waitlist(q, b):
    return {
        "site_id": q["site_id"],
        "stages": [{"stage": "received", "count": 1}, {"stage": "screening", "count": 1}],
        "items": [
            {
                "referral_id": REFERRAL_ID,
                "program": "adult",
                "stage": "screening",
                "waiting_days": 33,
            }
        ],
    }


def test_the_coordinator_starts_at_the_queue_of_their_site_oldest_first(coordinator, services):
    services.on("GET", "intake", "/v1/waitlist", waitlist)
    page = coordinator.get("/home", follow_redirects=True)
    shown = text(page)
    assert "Referrals" in title(page)
    assert "All waiting (2)" in shown and "Screening (1)" in shown
    assert f"{REFERRAL_ID} Adult Screening 33" in shown
    assert [c["params"]["site_id"] for c in services.calls if c["path"] == "/v1/waitlist"] == [
        "site-north"
    ]


def site_figures(q, b):
    stages = [{"stage": "received", "count": 1}, {"stage": "screening", "count": 1}]
    return {
        "items": [
            {
                "site_id": q["site_id"],
                "programs": [
                    {"program": "adult", "stages": stages},
                    {"program": "adolescent", "stages": [{"stage": "screening", "count": 2}]},
                ],
            }
        ]
    }


def test_a_stage_of_the_queue_lists_that_stage_with_the_days_waited(coordinator, services, clock):
    services.on("GET", "intake", "/v1/waitlist", waitlist)
    services.on("GET", "intake", "/v1/waitlist-figures", site_figures)
    services.on(
        "GET",
        "intake",
        "/v1/referrals",
        {
            "items": [
                {
                    "id": REFERRAL_ID,
                    "program": "adult",
                    "status": "screening",
                    "source": "GP",
                    "received_at": "2026-02-01T10:00:00+00:00",
                }
            ],
            "next_cursor": None,
        },
    )
    page = coordinator.get("/referrals?site=site-north&stage=screening")
    # received on 1 February, seen on 3 March (the fixed clock): 30 days
    assert f"{REFERRAL_ID} Adult Screening 30" in text(page)
    fragment = coordinator.get(
        "/referrals?site=site-north&stage=screening", headers={"HX-Request": "true"}
    )
    assert fragment.get_data(as_text=True).lstrip().startswith('<div id="queue">')
    assert "<html" not in fragment.get_data(as_text=True)


def test_a_stage_of_the_queue_counts_the_stages_from_the_sites_figures_not_a_waitlist_page(
    coordinator, services
):
    """One stage's queue shows every stage's count (all programs added up) from intake's kept
    figures of the site: it does not read a page of the whole waitlist it does not show."""
    services.on("GET", "intake", "/v1/waitlist", waitlist)
    services.on("GET", "intake", "/v1/waitlist-figures", site_figures)
    services.on("GET", "intake", "/v1/referrals", {"items": [], "next_cursor": None})

    shown = text(coordinator.get("/referrals?site=site-north&stage=screening"))

    assert "Screening (3)" in shown and "Received (1)" in shown
    assert [c["params"] for c in services.calls if c["path"] == "/v1/waitlist-figures"] == [
        {"site_id": "site-north"}
    ]
    assert not [c for c in services.calls if c["path"] == "/v1/waitlist"]


def test_recording_a_referral_sends_the_details_and_opens_it_by_id(coordinator, services):
    services.on("POST", "intake", "/v1/referrals", {**REFERRAL})
    answer = coordinator.post(
        "/referrals/new",
        data={
            "csrf_token": csrf(coordinator),
            "site_id": "site-north",
            "program": "adult",
            "source": "GP",
            "consent_to_contact": "yes",
            "client.given_name": "Alex",
            "client.family_name": "Rivera",
            "dob.day": "17",
            "dob.month": "3",
            "dob.year": "1994",
            "client.email": "alex@example.org",
            "client.phone": "+44 20 7946 0000",
            "client.preferred_channel": "sms",
            "client.language": "en",
        },
    )
    assert answer.status_code == 303
    assert answer.headers["Location"] == f"/referrals/{REFERRAL_ID}"  # an id, never a name
    # the one referral recorded (the duplicate check before it is a POST too)
    (call,) = [c for c in services.calls if c["method"] == "POST" and c["path"] == "/v1/referrals"]
    assert call["body"]["client"]["date_of_birth"] == "1994-03-17"
    assert call["body"]["consent_to_contact"] is True
    assert call["body"]["client"]["given_name"] == "Alex"


def test_a_refused_referral_keeps_what_was_typed_and_says_what_to_fix(coordinator, services):
    services.on(
        "POST",
        "intake",
        "/v1/referrals",
        problem(
            422,
            "invalid",
            [
                {
                    "field": "consent_to_contact",
                    "location": "json",
                    "message": "Missing data for required field.",
                },
                {
                    "field": "client.phone",
                    "location": "json",
                    "message": "Not a phone number, e.g. +1 312 555 0100.",
                },
            ],
        ),
    )
    answer = coordinator.post(
        "/referrals/new",
        data={
            "csrf_token": csrf(coordinator),
            "site_id": "site-north",
            "program": "adult",
            "source": "GP",
            "client.given_name": "Alex",
            "client.phone": "12",
            "dob.day": "17",
            "dob.month": "3",
            "dob.year": "1994",
        },
    )
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert "Confirm the client agreed to be contacted" in html
    assert "Not a phone number" in html
    assert 'value="Alex"' in html and 'value="1994"' in html
    assert "Alex" not in title(answer)


def test_the_referral_page_shows_the_client_and_keeps_the_name_out_of_the_title(
    coordinator, services
):
    services.on("GET", "intake", f"/v1/referrals/{REFERRAL_ID}", REFERRAL)
    page = coordinator.get(f"/referrals/{REFERRAL_ID}")
    assert "Alex Rivera" in text(page) and "alex@example.org" in text(page)
    assert "Alex" not in title(page) and "Rivera" not in title(page)
    assert "High risk" not in text(page)
    assert page.headers["Cache-Control"] == "no-store"


def test_a_high_risk_screening_shows_the_banner_with_the_emergency_route(coordinator, services):
    screening = {
        "id": "s1",
        "risk_level": "high",
        "cssrs_risk": "high",
        "phq9_total": 22,
        "phq9_band": "severe",
        "gad7_total": 3,
        "gad7_band": "minimal",
        "flags": ["cssrs_high"],
    }
    services.on(
        "GET", "intake", f"/v1/referrals/{REFERRAL_ID}", {**REFERRAL, "screenings": [screening]}
    )
    page = coordinator.get(f"/referrals/{REFERRAL_ID}")
    assert "High risk at screening" in text(page)
    assert "emergency" in text(page)


def test_a_referral_of_another_site_is_not_found_and_shows_nothing_of_it(coordinator, services):
    services.on(
        "GET",
        "intake",
        "/v1/referrals/other-site-referral",
        problem(404, "No referral other-site-referral."),
    )
    page = coordinator.get("/referrals/other-site-referral")
    assert page.status_code == 404 and "Page not found" in text(page)
    assert "other-site-referral" not in text(page)


def test_an_id_that_is_not_one_the_services_give_is_not_sent_to_them(coordinator, services):
    page = coordinator.get("/referrals/..%2F..%2Fv1%2Faudit")
    assert page.status_code == 404
    assert not [c for c in services.calls if "audit" in c["path"]]


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


def test_the_queue_names_its_clients_with_one_call_for_the_page(coordinator, services):
    services.on("GET", "intake", "/v1/waitlist", waitlist)
    services.on(
        "POST",
        "intake",
        "/v1/clients/display-names",
        lambda q, body: {
            "items": [{"client_id": i, "display_name": "Alex Rivera"} for i in body["client_ids"]]
        },
    )
    page = coordinator.get("/referrals")
    assert f"{REFERRAL_ID} Alex Rivera Adult Screening 33" in text(page)
    assert "Alex" not in title(page)
    lookups = [c for c in services.calls if c["path"] == "/v1/clients/display-names"]
    assert [c["body"] for c in lookups] == [{"client_ids": [REFERRAL_ID]}]


def test_a_referral_of_someone_already_referred_warns_on_its_page(coordinator, services):
    other = "1e8b2a3f-6d52-4f66-8c1b-2d3e4f5a6b7c"
    services.on("POST", "intake", "/v1/referrals", {**REFERRAL, "possible_duplicates": [other]})
    services.on("GET", "intake", f"/v1/referrals/{REFERRAL_ID}", REFERRAL)
    answer = coordinator.post(
        "/referrals/new", data={"csrf_token": csrf(coordinator), "site_id": "site-north"}
    )
    page = coordinator.get(answer.headers["Location"]).get_data(as_text=True)
    assert "This person may already be referred" in page
    assert f'href="/referrals/{other}"' in page
    again = coordinator.get(answer.headers["Location"]).get_data(as_text=True)
    assert "may already be referred" not in again
