"""Intake from referral to admission, across the real processes.

A coordinator screens, decides, orients, commits, matches and admits a client; a high-risk
screening at 03:00 site time reaches the clinical lead by email within seconds; bad requests are
refused precisely and change nothing. Who may see a client and what the database holds:
``test_intake_client_privacy``; lists, the waitlist and the API document: ``test_intake_lists``.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import requests
from e2e_intake_clinic import (
    HIGH_RISK,
    LOW_RISK,
    client_details,
    new_referral,
    set_up_clinic,
    zone_where_it_is,
)
from pymongo import MongoClient

from dbt_shared.contracts import intake as contract
from support import Api, header, read_topic, wait_until


@pytest.fixture(scope="module")
def clinic(platform, tokens):
    return set_up_clinic(platform, tokens)


def test_programs_default_to_standard_dbt_and_settings_can_change(clinic, tokens):
    settings = clinic["program"]["settings"]
    assert settings["consecutive_miss_limit"] == 4
    assert settings["late_minutes_count_as_absence"] == 15
    assert settings["twenty_four_hour_rule"] is True
    assert settings["group_capacity"] == 8
    assert settings["curriculum"] == "M2 DT6 M2 ER6 M2 IE6"
    assert settings["cycle_weeks"] == 24
    operator = clinic["operator"]
    teen = operator.post(f"/v1/sites/{clinic['site_id']}/programs", json={"kind": "adolescent"})
    assert teen.status_code == 201
    assert teen.json()["settings"]["twenty_four_hour_rule"] is False
    assert "WMP" in teen.json()["settings"]["curriculum"]
    changed = operator.request(
        "PATCH",
        f"/v1/sites/{clinic['site_id']}/programs/{teen.json()['id']}",
        json={"settings": {"group_capacity": 6}},
    )
    assert changed.status_code == 200
    assert changed.json()["settings"]["group_capacity"] == 6
    assert changed.json()["settings"]["twenty_four_hour_rule"] is False
    bad = operator.request(
        "PATCH",
        f"/v1/sites/{clinic['site_id']}/programs/{teen.json()['id']}",
        json={"settings": {"group_capacity": 0}},
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "settings.group_capacity"
    for service in ("skills-group", "coaching", "notifications"):
        known = Api(clinic["profile"].api_url(service), clinic["coordinator"].token)

        def learned(known=known):
            items = known.get(f"/v1/sites/{clinic['site_id']}/programs").json()["items"]
            by_kind = {p["kind"]: p["settings"] for p in items}
            # Two programs' events are on their own partitions, in no order between them.
            changed = by_kind.get("adolescent", {}).get("group_capacity") == 6
            return changed and "adult" in by_kind and by_kind

        by_kind = wait_until(learned, timeout=20, what=f"{service} to learn the program settings")
        assert by_kind["adult"]["consecutive_miss_limit"] == 4
        assert by_kind["adolescent"]["twenty_four_hour_rule"] is False
    coordinator_try = clinic["coordinator"].post(
        f"/v1/sites/{clinic['site_id']}/programs", json={"kind": "adult"}
    )
    assert coordinator_try.status_code == 403


def test_a_referral_goes_from_receipt_to_admission(clinic, tokens):
    coordinator = clinic["coordinator"]
    referral = new_referral(clinic)
    rid = referral["id"]
    assert referral["status"] == "received"

    screened = coordinator.post(f"/v1/referrals/{rid}/screenings", json=LOW_RISK)
    assert screened.status_code == 201, screened.text
    result = screened.json()
    assert result["phq9_total"] == 5 and result["phq9_band"] == "mild"
    assert result["gad7_total"] == 3 and result["gad7_band"] == "minimal"
    assert result["risk_level"] == "low" and result["safety_resources"] == []
    assert result["referral_status"] == "screening"

    early = coordinator.post(
        f"/v1/referrals/{rid}/admission",
        json={"availability": [{"weekday": "tue", "start": "17:00", "end": "21:00"}]},
    )
    assert early.status_code == 409
    assert early.json()["current_status"] == "screening"

    decided = coordinator.post(
        f"/v1/referrals/{rid}/eligibility",
        json={"decision": "eligible", "reason": "meets criteria"},
    )
    assert decided.json()["status"] == "eligible"
    assert coordinator.post(f"/v1/referrals/{rid}/orientation").json()["status"] == "orientation"

    incomplete = coordinator.post(
        f"/v1/referrals/{rid}/commitment",
        json={
            "orientation_sessions": 2,
            "all_modes": True,
            "four_miss_rule": False,
            "consent_to_treatment": True,
        },
    )
    assert incomplete.status_code == 422
    assert [e["field"] for e in incomplete.json()["errors"]] == ["four_miss_rule"]
    assert coordinator.get(f"/v1/referrals/{rid}").json()["status"] == "orientation"
    committed = coordinator.post(
        f"/v1/referrals/{rid}/commitment",
        json={
            "orientation_sessions": 2,
            "all_modes": True,
            "four_miss_rule": True,
            "consent_to_treatment": True,
        },
    )
    assert committed.json()["status"] == "committed"

    blocked = coordinator.post(
        f"/v1/referrals/{rid}/admission",
        json={"availability": [{"weekday": "tue", "start": "17:00", "end": "21:00"}]},
    )
    assert blocked.status_code == 409
    assert "no therapist is assigned" in blocked.json()["reasons"]

    matched = coordinator.post(f"/v1/referrals/{rid}/therapist", json={})
    assert matched.status_code == 200, matched.text
    therapist = matched.json()["therapist"]
    assert therapist["clinician_id"] == clinic["therapists"]["bilingual"], "client speaks es"
    assert therapist["method"] == "matched"
    assert any("es" in reason for reason in therapist["reasons"])

    therapist_token = tokens.role(
        "therapist", clinic["site_id"], sub=clinic["therapist_subjects"]["bilingual"]
    )
    as_therapist = Api(clinic["profile"].api_url("intake"), therapist_token)
    assert as_therapist.get(f"/v1/referrals/{rid}").status_code == 200
    someone_else = new_referral(clinic)
    assert as_therapist.get(f"/v1/referrals/{someone_else['id']}").status_code == 404
    listed = as_therapist.get(f"/v1/referrals?site_id={clinic['site_id']}&limit=200").json()
    assert [r["id"] for r in listed["items"]] == [rid], "a therapist lists only their clients"

    admitted = coordinator.post(
        f"/v1/referrals/{rid}/admission",
        json={
            "availability": [
                {"weekday": "tue", "start": "17:00", "end": "21:00"},
                {"weekday": "thu", "start": "18:00", "end": "20:30"},
            ]
        },
    )
    assert admitted.status_code == 200, admitted.text
    assert admitted.json()["status"] == "admitted"
    assert [h["status"] for h in admitted.json()["history"]] == [
        "received",
        "screening",
        "eligible",
        "orientation",
        "committed",
        "admitted",
    ]

    too_late = coordinator.post(f"/v1/referrals/{rid}/withdrawal", json={"reason": "other"})
    assert too_late.status_code == 409

    def admitted_event():
        for record in read_topic(clinic["profile"].kafka_bootstrap, contract.TOPIC.name):
            if (
                header(record, "ce_type") == contract.CLIENT_ADMITTED
                and header(record, "ce_subject") == f"referrals/{rid}"
            ):
                return record
        return None

    record = wait_until(admitted_event, timeout=20, what="intake.client.admitted.v1 on Kafka")
    data = json.loads(record.value)
    assert data["client_id"] == rid and data["therapist_id"] == therapist["clinician_id"]
    assert data["program_id"] == clinic["program"]["id"]
    assert set(data) == {
        "client_id",
        "referral_id",
        "site_id",
        "program_id",
        "program",
        "therapist_id",
        "availability",
        "admitted_at",
    }


def test_bad_requests_are_refused_precisely_and_change_nothing(clinic):
    coordinator = clinic["coordinator"]
    referral = new_referral(clinic)
    rid = referral["id"]
    referrals = MongoClient(clinic["profile"].mongodb_uri)["dbt_intake"].referrals
    before = referrals.find_one({"_id": rid})

    short = coordinator.post(f"/v1/referrals/{rid}/screenings", json={**LOW_RISK, "phq9": [1] * 8})
    assert short.status_code == 422
    assert [e["field"] for e in short.json()["errors"]] == ["phq9"]
    out_of_range = coordinator.post(
        f"/v1/referrals/{rid}/screenings", json={**LOW_RISK, "gad7": [0, 0, 0, 4, 0, 0, 0]}
    )
    assert out_of_range.status_code == 422
    assert out_of_range.json()["errors"][0]["field"].startswith("gad7")
    skip_ahead = coordinator.post(f"/v1/referrals/{rid}/orientation")
    assert skip_ahead.status_code == 409
    assert skip_ahead.headers["Content-Type"].startswith("application/problem+json")
    bad_decision = coordinator.post(
        f"/v1/referrals/{rid}/eligibility", json={"decision": "maybe", "reason": "x"}
    )
    assert bad_decision.status_code == 422
    bad_times = coordinator.post(
        f"/v1/referrals/{rid}/admission",
        json={"availability": [{"weekday": "tue", "start": "21:00", "end": "17:00"}]},
    )
    assert bad_times.status_code == 422
    assert [e["field"] for e in bad_times.json()["errors"]] == ["availability[0].end"]
    after = referrals.find_one({"_id": rid})
    assert after == before


@pytest.mark.parametrize("site_hour", [3, 12], ids=["03:00", "noon"])
def test_high_risk_alerts_the_clinical_lead_at_once_whatever_the_hour(clinic, tokens, site_hour):
    if site_hour == 3:
        site_id, lead_email, coordinator = (
            clinic["site_id"],
            clinic["lead_email"],
            clinic["coordinator"],
        )
    else:
        tag = uuid.uuid4().hex[:6]
        lead_email = f"lead-{tag}@noon.example.org"
        site = (
            clinic["operator"]
            .post(
                "/v1/sites",
                json={
                    "name": f"Noon Site {tag}",
                    "timezone": zone_where_it_is(site_hour),
                    "intake_email": f"intake-{tag}@noon.example.org",
                    "clinical_lead": {"name": "Dr. Noon", "email": lead_email},
                },
            )
            .json()
        )
        site_id = site["id"]
        coordinator = Api(clinic["profile"].api_url("intake"), tokens.coordinator(site_id))
    zone = clinic["operator"].get(f"/v1/sites/{site_id}").json()["timezone"]
    assert datetime.now(UTC).astimezone(ZoneInfo(zone)).hour in (site_hour, site_hour + 1)

    referral = coordinator.post(
        "/v1/referrals",
        json={
            "site_id": site_id,
            "program": "adult",
            "source": "self",
            "consent_to_contact": True,
            "client": client_details(uuid.uuid4().hex[:6]),
        },
    ).json()
    key = {"Idempotency-Key": str(uuid.uuid4())}
    screened = coordinator.post(
        f"/v1/referrals/{referral['id']}/screenings", json=HIGH_RISK, headers=key
    )
    assert screened.status_code == 201
    retried = coordinator.post(
        f"/v1/referrals/{referral['id']}/screenings", json=HIGH_RISK, headers=key
    )
    assert retried.json()["id"] == screened.json()["id"], "a retry records nothing new"
    assert len(coordinator.get(f"/v1/referrals/{referral['id']}").json()["screenings"]) == 1
    result = screened.json()
    assert result["risk_level"] == "high" and result["needs_immediate_response"] is True
    assert result["phq9_self_harm_thoughts"] is True
    assert any("988" in r["contact"] for r in result["safety_resources"])

    mailpit = clinic["profile"].mailpit_url

    def lead_email_arrived():
        for message in requests.get(f"{mailpit}/api/v1/messages", timeout=5).json()["messages"]:
            if any(to["Address"] == lead_email for to in message["To"]):
                return message
        return None

    message = wait_until(lead_email_arrived, timeout=15, what="the clinical lead's alert email")
    full = requests.get(f"{mailpit}/api/v1/message/{message['ID']}", timeout=5).json()
    assert full["Subject"].startswith("URGENT")
    assert referral["id"] in full["Text"] and "988" in full["Text"]
    assert referral["client"]["family_name"] not in full["Text"]

    inbox = Api(clinic["profile"].api_url("notifications"), coordinator.token)
    first = wait_until(
        lambda: inbox.get(f"/v1/inbox?site_id={site_id}").json()["items"][0],
        timeout=15,
        what="the inbox",
    )
    assert first["priority"] == "urgent" and first["referral_id"] == referral["id"]
    metrics_text = requests.get(clinic["profile"].api_url("intake") + "/metrics", timeout=5).text
    assert 'dbt_intake_screenings_total{risk_level="high"}' in metrics_text
