"""A referral's path from receipt to admission in intake's use cases: screening and its risk,
eligibility, orientation, commitment, admission, steps out of order and withdrawal.
"""

# ruff: noqa: F811 (the tests take the fixtures imported from intake_clinic)
from __future__ import annotations

import json

import pytest
from intake_clinic import (  # noqa: F401
    AGREED,
    HIGH_RISK,
    NO_PREFERENCE,
    SELF_HARM_THOUGHTS_ONLY,
    TUESDAY_EVENINGS,
    clinic,
    components,
    events_of,
)

from dbt_shared.contracts import intake as contract
from dbt_shared.errors import Conflict, InvalidInput
from intake.services import referrals


# -- the pipeline ------------------------------------------------------------------------------
def test_a_referral_goes_from_receipt_to_admission(clinic):
    rid = clinic.receive()

    screened = clinic.screen(rid)
    assert (screened["phq9_total"], screened["phq9_band"]) == (5, "mild")
    assert (screened["gad7_total"], screened["gad7_band"]) == (3, "minimal")
    assert screened["bsl23_band"] == "moderate" and screened["ders16_total"] == 40
    assert screened["risk_level"] == "low" and screened["needs_immediate_response"] is False
    assert screened["safety_resources"] == [] and screened["referral_status"] == "screening"
    assert "answers" not in screened

    decided = referrals.decide_eligibility(
        rid, {"decision": "eligible", "reason": "Meets criteria."}, clinic.c, clinic.coordinator
    )
    assert decided["status"] == "eligible" and decided["eligibility"]["reason"] == "Meets criteria."
    oriented = referrals.start_orientation(rid, clinic.c, clinic.coordinator)
    assert oriented["status"] == "orientation"
    committed = referrals.record_commitment(
        rid, {"orientation_sessions": 2, **AGREED}, clinic.c, clinic.coordinator
    )
    assert committed["status"] == "committed" and committed["commitment"]["recorded_by"] == "coord"
    matched = clinic.assign(rid)
    assert matched["therapist"]["clinician_id"] == clinic.bilingual, "the client speaks Spanish"
    assert matched["therapist"]["method"] == "matched"
    assert "speaks es" in matched["therapist"]["reasons"]

    admitted = referrals.admit(
        rid, {"availability": TUESDAY_EVENINGS}, clinic.c, clinic.coordinator
    )

    assert admitted["status"] == "admitted" and admitted["allowed_actions"] == []
    assert [h["status"] for h in admitted["history"]] == [
        "received",
        "screening",
        "eligible",
        "orientation",
        "committed",
        "admitted",
    ]
    (event,) = events_of(clinic.c, contract.CLIENT_ADMITTED)
    assert event.data == {
        "referral_id": rid,
        "site_id": clinic.site_id,
        "client_id": rid,
        "program_id": f"{clinic.site_id}:adult",
        "program": "adult",
        "therapist_id": clinic.bilingual,
        "availability": TUESDAY_EVENINGS,
        "admitted_at": clinic.c.clock.now().isoformat(),
    }
    assert [e.type for e in clinic.c.repositories.referrals.events] == [
        contract.REFERRAL_RECEIVED,
        contract.SCREENING_COMPLETED,
        contract.THERAPIST_ASSIGNED,
        contract.CLIENT_ADMITTED,
    ]
    stored = json.dumps(clinic.c.repositories.referrals.documents[rid], default=str)
    assert "Meets criteria." not in stored, "the eligibility reason is sealed at rest"


def test_a_high_risk_screening_flags_the_risk_and_shows_crisis_resources(clinic):
    rid = clinic.receive()

    result = clinic.screen(rid, HIGH_RISK)

    assert result["risk_level"] == "high" and result["needs_immediate_response"] is True
    assert result["cssrs_risk"] == "high" and result["phq9_self_harm_thoughts"] is True
    assert result["flags"] == ["cssrs_high", "phq9_self_harm_thoughts"]
    assert any("988" in resource["contact"] for resource in result["safety_resources"])
    (flagged,) = events_of(clinic.c, contract.RISK_FLAGGED)
    assert flagged.data["screening_id"] == result["id"] and flagged.data["level"] == "high"
    assert set(flagged.data) == {"referral_id", "site_id", "screening_id", "level", "flagged_at"}
    (stored,) = clinic.c.repositories.referrals.documents[rid]["screenings"]
    assert stored["answers"].startswith("enc:v1:"), "the answers are sealed at rest"
    (shown,) = referrals.read(rid, clinic.c, clinic.coordinator)["screenings"]
    assert "answers" not in shown and shown["risk_level"] == "high"


def test_self_harm_thoughts_show_crisis_resources_without_an_immediate_alert(clinic):
    rid = clinic.receive()

    result = clinic.screen(rid, SELF_HARM_THOUGHTS_ONLY)

    assert result["risk_level"] == "moderate" and result["needs_immediate_response"] is False
    assert result["safety_resources"], "a crisis line is shown for self-harm thoughts"
    assert events_of(clinic.c, contract.RISK_FLAGGED) == []
    assert len(events_of(clinic.c, contract.SCREENING_COMPLETED)) == 1


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ({"orientation_sessions": 2, **AGREED, "four_miss_rule": False}, ["four_miss_rule"]),
        ({"orientation_sessions": 0, **AGREED}, ["orientation_sessions"]),
        (
            {
                "orientation_sessions": 1,
                "all_modes": False,
                "four_miss_rule": True,
                "consent_to_treatment": False,
            },
            ["all_modes", "consent_to_treatment"],
        ),
    ],
)
def test_an_incomplete_commitment_names_what_is_missing_and_changes_nothing(clinic, given, missing):
    rid = clinic.receive()
    clinic.eligible(rid)
    referrals.start_orientation(rid, clinic.c, clinic.coordinator)

    with pytest.raises(InvalidInput) as refused:
        referrals.record_commitment(rid, given, clinic.c, clinic.coordinator)

    assert [e["field"] for e in refused.value.field_errors] == missing
    assert refused.value.problem_kind == "commitment-incomplete"
    stored = clinic.c.repositories.referral(rid)
    assert stored.status == "orientation" and "commitment" not in stored.state


def test_admission_is_blocked_until_a_therapist_is_assigned(clinic):
    rid = clinic.receive()
    clinic.committed(rid)

    with pytest.raises(Conflict) as blocked:
        referrals.admit(rid, {"availability": TUESDAY_EVENINGS}, clinic.c, clinic.coordinator)

    assert blocked.value.members["reasons"] == ["no therapist is assigned"]
    assert blocked.value.problem_kind == "admission-blocked"
    assert clinic.status(rid) == "committed"
    assert events_of(clinic.c, contract.CLIENT_ADMITTED) == []


def test_admission_needs_the_program_to_be_configured(clinic):
    rid = clinic.receive(program="adolescent")  # the site runs no adolescent program
    clinic.committed(rid)
    referrals.assign_therapist(
        rid, {**NO_PREFERENCE, "clinician_id": clinic.bilingual}, clinic.c, clinic.coordinator
    )

    with pytest.raises(Conflict, match="no adolescent program"):
        referrals.admit(rid, {"availability": TUESDAY_EVENINGS}, clinic.c, clinic.coordinator)
    assert clinic.status(rid) == "committed"


@pytest.mark.parametrize(
    ("step", "action"),
    [
        (
            lambda cl, rid: referrals.start_orientation(rid, cl.c, cl.coordinator),
            "start_orientation",
        ),
        (
            lambda cl, rid: referrals.admit(
                rid, {"availability": TUESDAY_EVENINGS}, cl.c, cl.coordinator
            ),
            "admit",
        ),
        (
            lambda cl, rid: referrals.decide_eligibility(
                rid, {"decision": "eligible", "reason": "x"}, cl.c, cl.coordinator
            ),
            "decide_eligibility",
        ),
        (
            lambda cl, rid: referrals.record_commitment(
                rid, {"orientation_sessions": 2, **AGREED}, cl.c, cl.coordinator
            ),
            "record_commitment",
        ),
        (lambda cl, rid: cl.assign(rid), "assign_therapist"),
    ],
    ids=["orientation", "admit", "eligibility", "commitment", "therapist"],
)
def test_a_step_out_of_order_is_a_conflict_naming_the_status_and_the_step(clinic, step, action):
    rid = clinic.receive()

    with pytest.raises(Conflict) as refused:
        step(clinic, rid)

    assert refused.value.members == {"current_status": "received", "action": action}
    assert refused.value.problem_kind == "illegal-transition"
    stored = clinic.c.repositories.referral(rid)
    assert stored.status == "received" and len(stored.state["history"]) == 1
    assert len(clinic.c.repositories.referrals.events) == 1  # only its receipt


def test_a_withdrawal_records_the_reason_and_ends_the_path(clinic):
    rid = clinic.receive()
    clinic.eligible(rid)

    withdrawn = referrals.withdraw(
        rid, {"reason": "moved_away", "note": "Moving to Ohio."}, clinic.c, clinic.coordinator
    )

    assert withdrawn["status"] == "withdrawn" and withdrawn["allowed_actions"] == []
    assert withdrawn["withdrawal"]["note"] == "Moving to Ohio."
    assert withdrawn["withdrawal"]["from_status"] == "eligible"
    (event,) = events_of(clinic.c, contract.REFERRAL_WITHDRAWN)
    assert event.data["reason"] == "moved_away" and event.data["from_status"] == "eligible"
    stored = json.dumps(clinic.c.repositories.referrals.documents[rid], default=str)
    assert "Ohio" not in stored and "Ohio" not in json.dumps(event.data)
    with pytest.raises(Conflict) as again:
        referrals.withdraw(rid, {"reason": "other", "note": None}, clinic.c, clinic.coordinator)
    assert again.value.members == {"current_status": "withdrawn", "action": "withdraw"}


def test_an_admitted_client_cannot_be_withdrawn(clinic):
    rid = clinic.receive()
    clinic.committed(rid)
    clinic.assign(rid)
    referrals.admit(rid, {"availability": TUESDAY_EVENINGS}, clinic.c, clinic.coordinator)

    with pytest.raises(Conflict) as refused:
        referrals.withdraw(rid, {"reason": "other", "note": None}, clinic.c, clinic.coordinator)

    assert refused.value.members == {"current_status": "admitted", "action": "withdraw"}
    assert clinic.status(rid) == "admitted"
