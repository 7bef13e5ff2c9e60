"""A referral in the console on in-memory wiring: recorded and opened by id, a refusal keeping what
was typed, its page (no client name in the title, the risk banner, another site's or a made-up
id not found, a possible duplicate warned of).

The services' HTTP is faked (console.testing.FakeServices); the service client is the real
one. The sites and the referral are in ``console_pages_support``, the signed-in clients in
``console_page_fixtures``."""

# ruff: noqa: F811 (the tests take the fixtures imported from console_page_fixtures)
from __future__ import annotations

from console_page_fixtures import client, coordinator, operator, provider, services  # noqa: F401
from console_pages_support import REFERRAL, REFERRAL_ID, csrf, text, title

from console.testing import problem


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
