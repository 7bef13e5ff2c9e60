"""The new-referral form on in-memory wiring: the same person's open referrals at the site are
named BEFORE anything is recorded (intake's keyed-hash duplicate check), the form comes back
with what was typed and 'Record it anyway'; the client's language is chosen by name."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from console import bootstrap
from console.app import create_app
from console.testing import FakeProvider, FakeServices, problem

NORTH = {"id": "site-north", "name": "North Clinic", "timezone": "Europe/London"}
NEW_ID = "0d9a1f2e-7c41-4e55-9b0a-1c2d3e4f5a6b"
OTHER_ID = "1e8b2a3f-6d52-4f66-8c1b-2d3e4f5a6b7c"
THIRD_ID = "2f9c3b4a-7e63-4a77-9d2c-3e4f5a6b7c8d"
FORM = {
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
    "client.language": "es",
}


@pytest.fixture
def services():
    fake = FakeServices(bootstrap.settings_for_tests().service_urls)
    fake.on("GET", "intake", "/v1/sites", {"items": [NORTH], "next_cursor": None})
    fake.on("POST", "intake", "/v1/referrals", {"id": NEW_ID, "site_id": "site-north"})
    fake.on("GET", "intake", f"/v1/referrals/{NEW_ID}", {"id": NEW_ID, "site_id": "site-north"})
    return fake


@pytest.fixture
def coordinator(clock, services):
    provider = FakeProvider(clock)
    client = create_app(bootstrap.in_memory(clock, provider, services)).test_client()
    provider.sign_in_as("Carla Coordinator", ["coordinator"], ["site-north"])
    started = client.get("/auth/sign-in")
    state = parse_qs(urlsplit(started.headers["Location"]).query)["state"][0]
    client.get(f"/auth/callback?code=c&state={state}")
    return client


def _csrf(client) -> str:
    page = client.get("/referrals/new").get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def _hidden(page: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', page).group(1)


def _recorded(services) -> list[dict]:
    return [c for c in services.calls if (c["method"], c["path"]) == ("POST", "/v1/referrals")]


def _checks(services) -> list[dict]:
    return [c for c in services.calls if c["path"] == "/v1/duplicate-checks"]


def test_the_same_person_already_referred_is_named_before_anything_is_recorded(
    coordinator, services
):
    services.on("POST", "intake", "/v1/duplicate-checks", {"possible_duplicates": [OTHER_ID]})
    answer = coordinator.post("/referrals/new", data={"csrf_token": _csrf(coordinator), **FORM})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert _recorded(services) == []  # nothing recorded yet
    assert "This person may already be referred" in page and "Nothing has been recorded" in page
    assert f'href="/referrals/{OTHER_ID}"' in page  # the other referral by its reference only
    assert "Record it anyway" in page
    # what was typed is kept, the date of birth's boxes too, and the language chosen
    assert 'value="Alex"' in page and 'value="Rivera"' in page and 'value="1994"' in page
    assert '<option value="es" selected>Spanish</option>' in page
    # the check asked about this person at the chosen site, with the date intake reads
    (check,) = _checks(services)
    assert check["body"] == {
        "site_id": "site-north",
        "given_name": "Alex",
        "family_name": "Rivera",
        "date_of_birth": "1994-03-17",
    }


def test_record_it_anyway_records_the_referral_and_does_not_warn_again(coordinator, services):
    services.on("POST", "intake", "/v1/duplicate-checks", {"possible_duplicates": [OTHER_ID]})
    services.on(
        "POST", "intake", "/v1/referrals", {"id": NEW_ID, "possible_duplicates": [OTHER_ID]}
    )
    warned = coordinator.post(
        "/referrals/new", data={"csrf_token": _csrf(coordinator), **FORM}
    ).get_data(as_text=True)
    anyway = {
        "csrf_token": _hidden(warned, "csrf_token"),
        "idempotency_key": _hidden(warned, "idempotency_key"),
        "acknowledged_duplicates": _hidden(warned, "acknowledged_duplicates"),
        **FORM,
    }
    answer = coordinator.post("/referrals/new", data=anyway)
    assert answer.status_code == 303 and answer.headers["Location"] == f"/referrals/{NEW_ID}"
    (recorded,) = _recorded(services)
    assert recorded["body"]["client"]["language"] == "es"
    # the form's idempotency key is kept across the warning: a double submit records once
    assert recorded["headers"]["Idempotency-Key"] == anyway["idempotency_key"]
    page = coordinator.get(answer.headers["Location"]).get_data(as_text=True)
    assert "may already be referred" not in page  # seen and confirmed already


def test_a_person_changed_after_the_warning_is_checked_again(coordinator, services):
    services.on(
        "POST",
        "intake",
        "/v1/duplicate-checks",
        lambda q, body: {
            "possible_duplicates": [OTHER_ID] if body["given_name"] == "Alex" else [THIRD_ID]
        },
    )
    warned = coordinator.post(
        "/referrals/new", data={"csrf_token": _csrf(coordinator), **FORM}
    ).get_data(as_text=True)
    again = coordinator.post(
        "/referrals/new",
        data={
            "csrf_token": _hidden(warned, "csrf_token"),
            "acknowledged_duplicates": _hidden(warned, "acknowledged_duplicates"),
            **FORM,
            "client.given_name": "Sam",
        },
    ).get_data(as_text=True)
    assert _recorded(services) == []
    assert f'href="/referrals/{THIRD_ID}"' in again and 'value="Sam"' in again


def test_no_one_already_referred_records_at_once_with_one_check(coordinator, services):
    services.on("POST", "intake", "/v1/duplicate-checks", {"possible_duplicates": []})
    answer = coordinator.post("/referrals/new", data={"csrf_token": _csrf(coordinator), **FORM})
    assert answer.status_code == 303
    assert len(_checks(services)) == 1 and len(_recorded(services)) == 1
    page = coordinator.get(answer.headers["Location"]).get_data(as_text=True)
    assert "may already be referred" not in page


def test_a_form_without_a_full_name_and_date_is_not_checked_but_recorded_for_its_errors(
    coordinator, services
):
    form = {**FORM, "dob.day": "", "dob.month": "", "dob.year": ""}
    coordinator.post("/referrals/new", data={"csrf_token": _csrf(coordinator), **form})
    assert _checks(services) == [] and len(_recorded(services)) == 1


def test_the_language_is_chosen_by_name_english_first_chosen(coordinator, services):
    page = coordinator.get("/referrals/new").get_data(as_text=True)
    assert '<select class="nhsuk-select" id="f-client-language" name="client.language"' in page
    assert '<option value="en" selected>English</option>' in page
    assert '<option value="es">Spanish</option>' in page


def test_a_field_refused_after_record_it_anyway_keeps_the_confirmation(coordinator, services):
    services.on("POST", "intake", "/v1/duplicate-checks", {"possible_duplicates": [OTHER_ID]})
    services.on(
        "POST",
        "intake",
        "/v1/referrals",
        problem(
            422,
            "invalid",
            [{"field": "client.email", "location": "json", "message": "Not a valid email."}],
        ),
    )
    warned = coordinator.post(
        "/referrals/new", data={"csrf_token": _csrf(coordinator), **FORM}
    ).get_data(as_text=True)
    refused = coordinator.post(
        "/referrals/new",
        data={
            "csrf_token": _hidden(warned, "csrf_token"),
            "acknowledged_duplicates": _hidden(warned, "acknowledged_duplicates"),
            **FORM,
            "client.email": "alex-at-example",
        },
    )
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Not a valid email." in page
    assert _hidden(page, "acknowledged_duplicates") == OTHER_ID and "Record it anyway" in page
