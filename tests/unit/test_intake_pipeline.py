"""A referral's path from receipt to admission, and the moves intake refuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from intake.domain.pipeline import (
    STATUSES,
    TERMINAL,
    WAITING_STAGES,
    AdmissionBlocked,
    CommitmentIncomplete,
    IllegalTransition,
    allowed_actions,
    transition,
    waiting_days,
)

AGREED = {"all_modes": True, "four_miss_rule": True, "consent_to_treatment": True}


def test_the_full_path_from_referral_to_admission():
    status = "received"
    status = transition(status, "start_screening")
    assert status == "screening"
    status = transition(status, "record_screening")
    assert status == "screening"
    status = transition(status, "decide_eligibility", decision="eligible")
    status = transition(status, "assign_therapist")
    assert status == "eligible"
    status = transition(status, "start_orientation")
    assert status == "orientation"
    status = transition(status, "record_commitment", orientation_sessions=2, **AGREED)
    assert status == "committed"
    status = transition(status, "admit", therapist_id="clin-7", eligibility="eligible")
    assert status == "admitted"


def test_recording_the_first_screening_starts_screening():
    assert transition("received", "record_screening") == "screening"


def test_a_referral_under_review_can_be_decided_later():
    assert transition("screening", "decide_eligibility", decision="needs_review") == "needs_review"
    assert transition("needs_review", "decide_eligibility", decision="eligible") == "eligible"


def test_an_unknown_eligibility_decision_is_refused():
    with pytest.raises(ValueError, match="eligible"):
        transition("screening", "decide_eligibility", decision="maybe")


def test_admitting_too_early_names_the_status_needed():
    with pytest.raises(IllegalTransition) as refused:
        transition("screening", "admit", therapist_id="clin-7", eligibility="eligible")
    assert str(refused.value) == "cannot admit a referral that is screening; admit needs committed"
    assert refused.value.action == "admit"
    assert refused.value.current == "screening"
    assert refused.value.allowed_from == ("committed",)


def test_an_admitted_referral_cannot_be_withdrawn():
    with pytest.raises(IllegalTransition, match="cannot withdraw a referral that is admitted"):
        transition("admitted", "withdraw")


def test_withdrawal_is_possible_at_every_stage_before_admission():
    for status in ("received", "screening", "eligible", "needs_review", "orientation"):
        assert transition(status, "withdraw") == "withdrawn"
    assert transition("committed", "withdraw") == "withdrawn"
    assert transition("not_eligible", "withdraw") == "withdrawn"
    with pytest.raises(IllegalTransition):
        transition("withdrawn", "withdraw")


def test_committing_without_the_four_miss_agreement_lists_it_as_missing():
    agreements = {**AGREED, "four_miss_rule": False}
    with pytest.raises(CommitmentIncomplete) as refused:
        transition("orientation", "record_commitment", orientation_sessions=1, **agreements)
    assert refused.value.missing == ["four_miss_rule"]
    assert "four-miss rule" in str(refused.value)


def test_agreements_may_also_arrive_together():
    assert (
        transition("eligible", "record_commitment", agreements=AGREED, orientation_sessions=1)
        == "committed"
    )


def test_commitment_needs_an_orientation_session_and_every_agreement():
    with pytest.raises(CommitmentIncomplete) as refused:
        transition("orientation", "record_commitment")
    assert refused.value.missing == [
        "all_modes",
        "four_miss_rule",
        "consent_to_treatment",
        "orientation_sessions",
    ]
    assert "no orientation session" in str(refused.value)


def test_more_than_six_orientation_sessions_is_refused():
    assert transition("orientation", "record_commitment", orientation_sessions=6, **AGREED)
    with pytest.raises(ValueError, match="1-6"):
        transition("orientation", "record_commitment", orientation_sessions=7, **AGREED)


def test_commitment_before_eligibility_is_illegal_even_with_everything_agreed():
    with pytest.raises(IllegalTransition, match="needs eligible or orientation"):
        transition("screening", "record_commitment", orientation_sessions=1, **AGREED)


def test_admission_needs_an_assigned_therapist_and_eligibility_on_record():
    with pytest.raises(AdmissionBlocked) as refused:
        transition("committed", "admit", therapist_id=None, eligibility="needs_review")
    assert refused.value.reasons == [
        "no therapist is assigned",
        "the eligibility on record is needs_review, not eligible",
    ]
    with pytest.raises(AdmissionBlocked, match="no eligibility decision"):
        transition("committed", "admit", therapist_id="clin-7")


def test_therapists_are_assigned_only_between_eligibility_and_admission():
    for status in ("eligible", "orientation", "committed"):
        assert transition(status, "assign_therapist") == status
    for status in ("received", "screening", "admitted", "withdrawn"):
        with pytest.raises(IllegalTransition, match="cannot assign a therapist to"):
            transition(status, "assign_therapist")


def test_allowed_actions_follow_the_stage():
    assert allowed_actions("received") == ["start_screening", "record_screening", "withdraw"]
    assert allowed_actions("committed") == ["assign_therapist", "admit", "withdraw"]
    assert allowed_actions("admitted") == []
    assert allowed_actions("withdrawn") == []


def test_allowed_actions_are_exactly_the_ones_transition_accepts():
    complete_facts = {
        "decision": "eligible",
        "orientation_sessions": 1,
        "therapist_id": "clin-7",
        "eligibility": "eligible",
        **AGREED,
    }
    every_action = [
        "start_screening",
        "record_screening",
        "decide_eligibility",
        "start_orientation",
        "assign_therapist",
        "record_commitment",
        "admit",
        "withdraw",
    ]
    for status in STATUSES:
        for action in every_action:
            try:
                transition(status, action, **complete_facts)
                accepted = True
            except IllegalTransition:
                accepted = False
            assert accepted == (action in allowed_actions(status)), (status, action)


def test_unknown_actions_and_statuses_are_programming_errors():
    with pytest.raises(ValueError, match="unknown action"):
        transition("received", "fast_track")
    with pytest.raises(ValueError, match="unknown referral status"):
        transition("lost", "withdraw")


def test_waiting_and_terminal_stages_cover_every_status_once():
    assert set(WAITING_STAGES) | TERMINAL == set(STATUSES)
    assert not set(WAITING_STAGES) & TERMINAL


def test_waiting_days_counts_whole_days():
    received = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    assert waiting_days(received, received + timedelta(hours=23, minutes=59)) == 0
    assert waiting_days(received, received + timedelta(days=1)) == 1
    assert waiting_days(received, received + timedelta(days=13, hours=20)) == 13
    assert waiting_days(received, received - timedelta(minutes=1)) == 0
