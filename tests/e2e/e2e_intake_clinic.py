"""The clinic the intake e2e tests run in, and what they send it.

``set_up_clinic`` registers a site whose local time is 03:00 now (``zone_where_it_is``: a real
03:00 without faked clocks), its adult program and two therapists (one English-only, one
bilingual), for the module-scoped ``clinic`` fixture of ``test_intake_journey``,
``test_intake_client_privacy`` and ``test_intake_lists``; ``new_referral`` and ``LOW_RISK`` serve
the other e2e modules that start from a referral.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, available_timezones

from support import Api

LOW_RISK = {
    "cssrs": [False] * 6,
    "phq9": [1, 1, 1, 1, 0, 1, 0, 0, 0],
    "gad7": [1, 1, 0, 0, 1, 0, 0],
    "ders16_total": 40,
    "bsl23_mean": 0.8,
}
HIGH_RISK = {**LOW_RISK, "cssrs": [True, True, True, True, False, False], "phq9": [2] * 8 + [1]}


def client_details(tag: str) -> dict:
    return {
        "given_name": f"Given{tag}",
        "family_name": f"Family{tag}",
        "date_of_birth": "1990-02-03",
        "email": f"client.{tag}@example.org",
        "phone": phone_of(tag),
        "preferred_channel": "sms",
        "language": "es",
    }


def phone_of(tag: str) -> str:
    # in E.164, as intake stores and answers every number
    return f"+1312555{int(tag, 16) % 10000:04d}"


def zone_where_it_is(hour: int) -> str:
    """An IANA zone whose local time is now within ``hour``: a real 03:00 without faked clocks."""
    now = datetime.now(UTC)
    for name in sorted(available_timezones()):
        if "/" in name and now.astimezone(ZoneInfo(name)).hour == hour:
            return name
    raise AssertionError(f"no time zone is at {hour}:00 now")


def set_up_clinic(platform, tokens) -> dict:
    """The ``clinic`` fixture's clinic on the test stack ``platform``: the site at 03:00, its adult
    program, the two therapists, and the coordinator's and operator's clients of the api."""
    profile = platform.profile
    operator = Api(profile.api_url("intake"), tokens.operator())
    tag = uuid.uuid4().hex[:6]
    lead_email = f"lead-{tag}@clinic.example.org"
    site = operator.post(
        "/v1/sites",
        json={
            "name": f"Night Site {tag}",
            "timezone": zone_where_it_is(3),
            "intake_email": f"intake-{tag}@clinic.example.org",
            "clinical_lead": {"name": "Dr. Lead", "email": lead_email, "phone": "+1 312 555 0100"},
        },
    )
    assert site.status_code == 201, site.text
    site_id = site.json()["id"]
    adult = operator.post(f"/v1/sites/{site_id}/programs", json={"kind": "adult"})
    assert adult.status_code == 201, adult.text
    therapists, subjects = {}, {}
    for name, languages, limit in (("en-only", ["en"], 10), ("bilingual", ["en", "es"], 10)):
        created = operator.post(
            f"/v1/sites/{site_id}/clinicians",
            json={
                "subject": f"idp|{name}-{tag}",
                "display_name": f"Therapist {name}",
                "roles": ["therapist"],
                "programs": ["adult"],
                "languages": languages,
                "caseload_limit": limit,
            },
        )
        assert created.status_code == 201, created.text
        therapists[name] = created.json()["id"]
        subjects[name] = f"idp|{name}-{tag}"
    return {
        "profile": profile,
        "site_id": site_id,
        "site_zone": site.json()["timezone"],
        "lead_email": lead_email,
        "program": adult.json(),
        "therapists": therapists,
        "therapist_subjects": subjects,
        "coordinator": Api(profile.api_url("intake"), tokens.coordinator(site_id)),
        "operator": operator,
    }


def new_referral(clinic, tag: str | None = None) -> dict:
    tag = tag or uuid.uuid4().hex[:6]
    response = clinic["coordinator"].post(
        "/v1/referrals",
        json={
            "site_id": clinic["site_id"],
            "program": "adult",
            "source": "self",
            "consent_to_contact": True,
            "client": client_details(tag),
        },
    )
    assert response.status_code == 201, response.text
    return response.json()
