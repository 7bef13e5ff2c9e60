"""The referral page walks the pipeline: each step's form posts to intake's step operation,
a refusal comes back at the step's fields with what was typed, and a high-risk screening shows
the banner with the emergency route and the safety resources to give the client now."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from console import bootstrap
from console.app import create_app
from console.testing import FakeProvider, FakeServices, problem

RID = "0d9a1f2e-7c41-4e55-9b0a-1c2d3e4f5a6b"
PATH = f"/v1/referrals/{RID}"


def referral(status: str, actions: list[str], **more) -> dict:
    return {
        "id": RID,
        "site_id": "site-north",
        "program": "adult",
        "source": "GP",
        "status": status,
        "allowed_actions": actions,
        "consent_to_contact": True,
        "client": {
            "given_name": "Alex",
            "family_name": "Rivera",
            "date_of_birth": "1994-03-17",
            "email": "alex@example.org",
            "phone": "+44 20 7946 0000",
            "preferred_channel": "email",
            "language": "en",
        },
        "screenings": [],
        "history": [],
        **more,
    }


@pytest.fixture
def services():
    return FakeServices(bootstrap.settings_for_tests().service_urls)


@pytest.fixture
def coordinator(clock, services):
    provider = FakeProvider(clock)
    provider.sign_in_as("Carla Coordinator", ["coordinator"], ["site-north"])
    client = create_app(bootstrap.in_memory(clock, provider, services)).test_client()
    started = client.get("/auth/sign-in")
    state = parse_qs(urlsplit(started.headers["Location"]).query)["state"][0]
    client.get(f"/auth/callback?code=c&state={state}")
    return client


def csrf(client) -> str:
    page = client.get("/home", follow_redirects=True).get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def posted(services) -> list[dict]:
    return [c for c in services.calls if c["method"] == "POST"]


def test_the_page_offers_only_the_steps_the_referral_may_take(coordinator, services):
    services.on(
        "GET",
        "intake",
        PATH,
        referral("screening", ["record_screening", "decide_eligibility", "withdraw"]),
    )
    html = coordinator.get(f"/referrals/{RID}").get_data(as_text=True)
    assert "Record a screening" in html and "Record decision" in html and "Withdraw" in html
    assert "Admit</button>" not in html and "Start orientation" not in html
    ids = re.findall(r' id="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "an id is used twice on the page"


def test_an_eligibility_decision_is_sent_to_intake_and_the_page_shown_again(coordinator, services):
    services.on("GET", "intake", PATH, referral("screening", ["decide_eligibility"]))
    services.on("POST", "intake", PATH + "/eligibility", {"status": "eligible"})
    answer = coordinator.post(
        f"/referrals/{RID}/steps/eligibility",
        data={
            "csrf_token": csrf(coordinator),
            "decision": "eligible",
            "reason": "Meets criteria",
        },
    )
    assert answer.status_code == 303 and answer.headers["Location"] == f"/referrals/{RID}"
    assert posted(services)[-1]["body"] == {"decision": "eligible", "reason": "Meets criteria"}


def test_a_refused_step_says_why_at_the_field_and_keeps_what_was_typed(coordinator, services):
    services.on("GET", "intake", PATH, referral("committed", ["admit", "withdraw"]))
    services.on(
        "POST",
        "intake",
        PATH + "/admission",
        problem(
            422,
            "invalid",
            [
                {
                    "field": "availability[0].end",
                    "location": "json",
                    "message": "The end must be after the start.",
                }
            ],
        ),
    )
    answer = coordinator.post(
        f"/referrals/{RID}/steps/admission",
        data={
            "csrf_token": csrf(coordinator),
            "availability[0].weekday": "tue",
            "availability[0].start": "19:00",
            "availability[0].end": "18:00",
        },
    )
    assert answer.status_code == 422
    assert posted(services)[-1]["body"] == {
        "availability": [{"weekday": "tue", "start": "19:00", "end": "18:00"}]
    }
    html = answer.get_data(as_text=True)
    field = html[html.index('for="admission-f-availability-0--end"') :][:600]
    assert "The end must be after the start." in field and 'value="18:00"' in field
    assert 'href="#admission-f-availability-0--end"' in html


def test_a_step_intake_refuses_for_the_referrals_state_shows_intakes_reason(coordinator, services):
    services.on("GET", "intake", PATH, referral("eligible", ["start_orientation"]))
    services.on(
        "POST",
        "intake",
        PATH + "/orientation",
        problem(409, "Cannot start orientation for a referral that is admitted."),
    )
    answer = coordinator.post(
        f"/referrals/{RID}/steps/orientation", data={"csrf_token": csrf(coordinator)}
    )
    assert answer.status_code == 422
    assert "Cannot start orientation for a referral that is admitted." in answer.get_data(
        as_text=True
    )


def test_a_therapist_is_matched_automatically_or_chosen_by_hand(coordinator, services):
    services.on("GET", "intake", PATH, referral("eligible", ["assign_therapist"]))
    services.on(
        "GET",
        "intake",
        "/v1/sites/site-north/clinicians",
        {
            "items": [
                {
                    "id": "clin-1",
                    "display_name": "Dr Ana Ortiz",
                    "roles": ["therapist"],
                    "active": True,
                },
                {
                    "id": "clin-2",
                    "display_name": "Fiona F",
                    "roles": ["facilitator"],
                    "active": True,
                },
            ]
        },
    )
    services.on("POST", "intake", PATH + "/therapist", {"clinician_id": "clin-1"})
    html = coordinator.get(f"/referrals/{RID}").get_data(as_text=True)
    assert "Dr Ana Ortiz" in html and "Fiona F" not in html  # therapists only
    token = csrf(coordinator)
    coordinator.post(f"/referrals/{RID}/steps/therapist", data={"csrf_token": token})
    coordinator.post(
        f"/referrals/{RID}/steps/therapist", data={"csrf_token": token, "clinician_id": "clin-1"}
    )
    assert [c["body"] for c in posted(services)] == [{}, {"clinician_id": "clin-1"}]


def test_a_high_risk_screening_shows_the_emergency_route_and_the_safety_resources(
    coordinator, services
):
    services.on(
        "POST",
        "intake",
        PATH + "/screenings",
        {
            "referral_id": RID,
            "risk_level": "high",
            "needs_immediate_response": True,
            "safety_resources": [{"name": "Crisis line", "contact": "988", "when": "any time"}],
        },
    )
    high = {
        "id": "s1",
        "risk_level": "high",
        "cssrs_risk": "high",
        "phq9_total": 20,
        "phq9_band": "severe",
        "gad7_total": 10,
        "gad7_band": "moderate",
        "flags": ["cssrs_high", "phq9_self_harm_thoughts"],
    }
    services.on("GET", "intake", PATH, referral("screening", [], screenings=[high]))
    answers = {f"cssrs[{i}]": "yes" if i < 4 else "no" for i in range(6)}
    answers |= {f"phq9[{i}]": "2" for i in range(9)} | {f"gad7[{i}]": "1" for i in range(7)}
    form = coordinator.get(f"/referrals/{RID}/screening").get_data(as_text=True)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', form).group(1)
    answer = coordinator.post(
        f"/referrals/{RID}/screening",
        data={"csrf_token": csrf(coordinator), "idempotency_key": key, **answers},
    )
    assert answer.status_code == 303
    (call,) = posted(services)
    assert call["body"]["cssrs"] == [True, True, True, True, False, False]
    assert call["body"]["phq9"] == [2] * 9 and call["headers"]["Idempotency-Key"] == key
    page = coordinator.get(answer.headers["Location"]).get_data(as_text=True)
    assert "High risk at screening" in page and "emergency" in page
    assert "C-SSRS: high suicide risk; PHQ-9 item 9: thoughts of self-harm" in page
    assert "Crisis line" in page and "988" in page
    again = coordinator.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Crisis line" not in again and "High risk at screening" in again  # shown once


def test_unanswered_screening_questions_are_asked_for_again(coordinator, services):
    services.on(
        "POST",
        "intake",
        PATH + "/screenings",
        problem(
            422, "invalid", [{"field": "phq9", "location": "json", "message": "PHQ-9 has 9 items."}]
        ),
    )
    answer = coordinator.post(
        f"/referrals/{RID}/screening",
        data={"csrf_token": csrf(coordinator), "cssrs[0]": "no", "phq9[0]": "1"},
    )
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert "PHQ-9 has 9 items." in html and 'href="#f-phq9"' in html
    assert re.search(r'value="no" checked', html) and re.search(r'value="1" selected', html)


def test_the_match_is_shown_with_the_therapists_name_and_why(coordinator, services):
    therapist = {
        "clinician_id": "clin-1",
        "method": "matched",
        "assigned_by": "carla",
        "reasons": ["speaks es", "caseload 3 of 10"],
    }
    services.on(
        "GET", "intake", PATH, referral("eligible", ["assign_therapist"], therapist=therapist)
    )
    services.on(
        "GET",
        "intake",
        "/v1/sites/site-north/clinicians",
        {
            "items": [
                {
                    "id": "clin-1",
                    "display_name": "Dr Ana Ortiz",
                    "roles": ["therapist"],
                    "active": True,
                }
            ]
        },
    )
    html = coordinator.get(f"/referrals/{RID}").get_data(as_text=True)
    assert "Assigned: Dr Ana Ortiz (matched): speaks es; caseload 3 of 10." in html
