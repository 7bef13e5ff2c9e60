"""The operator's clinician pages: a site's clinicians, adding one (their roles, programs,
languages and caseload limit), deactivating one who left."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from console import bootstrap
from console.app import create_app
from console.testing import FakeProvider, FakeServices, problem

SITE = {
    "id": "site-north",
    "name": "North Clinic",
    "timezone": "Europe/London",
    "intake_email": "intake@north.example",
    "clinical_lead": None,
}
ANA = {
    "id": "clin-1",
    "display_name": "Dr Ana Ortiz",
    "roles": ["therapist", "facilitator"],
    "languages": ["en", "es"],
    "caseload": 3,
    "caseload_limit": 12,
    "active": True,
}


@pytest.fixture
def services():
    fake = FakeServices(bootstrap.settings_for_tests().service_urls)
    fake.on("GET", "intake", "/v1/sites/site-north", SITE)
    fake.on("GET", "intake", "/v1/sites/site-north/programs", {"items": []})
    fake.on("GET", "intake", "/v1/sites/site-north/clinicians", {"items": [ANA]})
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
    page = client.get("/sites/site-north/clinicians/new").get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def test_the_site_page_lists_its_clinicians_with_roles_languages_and_caseload(operator):
    html = operator.get("/sites/site-north").get_data(as_text=True)
    shown = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert "Dr Ana Ortiz Therapist, Facilitator en, es 3 of 12 Deactivate" in shown


def test_adding_a_clinician_sends_their_roles_programs_and_languages(operator, services):
    services.on("POST", "intake", "/v1/sites/site-north/clinicians", {**ANA, "id": "clin-2"})
    answer = operator.post(
        "/sites/site-north/clinicians/new",
        data={
            "csrf_token": csrf(operator),
            "display_name": "Theo Therapist",
            "subject": "0c1e0000-0000-4000-8000-00000000000d",
            "roles": ["therapist"],
            "programs": ["adult"],
            "languages": "en, es",
            "caseload_limit": "8",
        },
    )
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/sites/site-north#clinicians"
    (call,) = [c for c in services.calls if c["method"] == "POST"]
    assert call["body"] == {
        "display_name": "Theo Therapist",
        "subject": "0c1e0000-0000-4000-8000-00000000000d",
        "roles": ["therapist"],
        "programs": ["adult"],
        "languages": ["en", "es"],
        "caseload_limit": 8,
    }
    assert call["headers"]["Idempotency-Key"]


def test_a_refused_clinician_shows_the_messages_at_the_fields_and_keeps_the_choices(
    operator, services
):
    services.on(
        "POST",
        "intake",
        "/v1/sites/site-north/clinicians",
        problem(
            422,
            "invalid",
            [
                {
                    "field": "roles",
                    "location": "json",
                    "message": "Missing data for required field.",
                },
                {
                    "field": "languages[0]",
                    "location": "json",
                    "message": "A language code such as en or es.",
                },
            ],
        ),
    )
    answer = operator.post(
        "/sites/site-north/clinicians/new",
        data={
            "csrf_token": csrf(operator),
            "display_name": "Theo",
            "subject": "theo",
            "programs": ["adolescent"],
            "languages": "english",
        },
    )
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert "Choose at least one role" in html
    assert "A language code such as en or es." in html and 'value="english"' in html
    assert re.search(r'value="adolescent" checked', html)
    assert not re.search(r'value="adult" checked', html)


def test_deactivating_a_clinician_asks_intake_and_returns_to_the_site(operator, services):
    services.on(
        "POST",
        "intake",
        "/v1/sites/site-north/clinicians/clin-1/deactivation",
        {**ANA, "active": False},
    )
    answer = operator.post(
        "/sites/site-north/clinicians/clin-1/deactivation", data={"csrf_token": csrf(operator)}
    )
    assert answer.status_code == 303
    assert [c["path"] for c in services.calls if c["method"] == "POST"] == [
        "/v1/sites/site-north/clinicians/clin-1/deactivation"
    ]
