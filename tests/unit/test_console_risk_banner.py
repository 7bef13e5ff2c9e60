"""The referral page's risk banner with the emergency route: shown when the C-SSRS screener
or PHQ-9 item 9 calls for it. Thoughts of self-harm on PHQ-9 item 9 with a low C-SSRS are a
"moderate" risk level at intake, and still ask for a same-day response: the banner shows, with
the safety resources intake gave for the client, and stays on the page while that screening is
the latest."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from console import bootstrap
from console.app import create_app
from console.testing import FakeProvider, FakeServices

RID = "5a0c3e1d-2b4f-4a6e-8c7d-9e0f1a2b3c4d"
PATH = f"/v1/referrals/{RID}"

#: A screening with no C-SSRS risk and PHQ-9 item 9 answered "several days".
SELF_HARM_THOUGHTS = {
    "id": "s1",
    "risk_level": "moderate",
    "cssrs_risk": "low",
    "phq9_total": 9,
    "phq9_band": "mild",
    "phq9_self_harm_thoughts": True,
    "gad7_total": 3,
    "gad7_band": "minimal",
    "flags": ["phq9_self_harm_thoughts"],
}
LOW = {
    **SELF_HARM_THOUGHTS,
    "risk_level": "low",
    "phq9_total": 4,
    "phq9_self_harm_thoughts": False,
    "flags": [],
}


def referral(screenings: list[dict]) -> dict:
    return {
        "id": RID,
        "site_id": "site-north",
        "program": "adult",
        "source": "GP",
        "status": "screening",
        "allowed_actions": ["record_screening", "decide_eligibility", "withdraw"],
        "consent_to_contact": True,
        "client": {
            "given_name": "Sam",
            "family_name": "Lee",
            "date_of_birth": "1990-05-06",
            "email": "sam@example.org",
            "phone": "+44 20 7946 0000",
            "preferred_channel": "email",
            "language": "en",
        },
        "screenings": screenings,
        "history": [],
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


def test_phq9_item_9_shows_the_banner_and_the_safety_resources_intake_gave(coordinator, services):
    services.on(
        "POST",
        "intake",
        PATH + "/screenings",
        {
            "referral_id": RID,
            **SELF_HARM_THOUGHTS,
            "needs_immediate_response": False,
            "safety_resources": [{"name": "Crisis line", "contact": "988", "when": "any time"}],
        },
    )
    services.on("GET", "intake", PATH, referral([SELF_HARM_THOUGHTS]))
    home = coordinator.get("/home", follow_redirects=True).get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', home).group(1)
    answers = {f"cssrs[{i}]": "no" for i in range(6)}
    answers |= {f"phq9[{i}]": "1" for i in range(9)} | {f"gad7[{i}]": "0" for i in range(7)}
    answer = coordinator.post(
        f"/referrals/{RID}/screening",
        data={"csrf_token": token, "idempotency_key": "k" * 16, **answers},
    )
    assert answer.status_code == 303
    page = coordinator.get(answer.headers["Location"]).get_data(as_text=True)
    assert 'role="alert"' in page and "emergency route" in page
    assert "PHQ-9 item 9: thoughts of self-harm" in page
    assert "Crisis line" in page and "988" in page
    again = coordinator.get(answer.headers["Location"]).get_data(as_text=True)
    assert "emergency route" in again and "Crisis line" not in again  # resources shown once


def test_a_low_risk_screening_shows_no_banner(coordinator, services):
    services.on("GET", "intake", PATH, referral([SELF_HARM_THOUGHTS, LOW]))
    page = coordinator.get(f"/referrals/{RID}").get_data(as_text=True)
    assert "emergency route" not in page and 'role="alert"' not in page
