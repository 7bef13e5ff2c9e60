"""Scoring of intake screenings and the risk triage a clinician acts on."""

from __future__ import annotations

import pytest

from intake.domain.screening import (
    SAFETY_RESOURCES,
    assess,
    bsl23_band,
    cssrs_risk,
    safety_resources_for,
    score_gad7,
    score_phq9,
)

NO_RISK = [False] * 6
CALM_PHQ9 = [0] * 9
CALM_GAD7 = [0] * 7


def phq9_totalling(total: int, item9: int | None = None) -> list[int]:
    """Nine item scores adding up to `total`; item 9 as given, else filled last."""
    items = [0] * 9
    left = total
    if item9 is not None:
        items[8] = item9
        left -= item9
    for i in range(9 if item9 is None else 8):
        items[i] = min(3, left)
        left -= items[i]
    assert left == 0 and sum(items) == total
    return items


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "moderately_severe"),
        (19, "moderately_severe"),
        (20, "severe"),
        (27, "severe"),
    ],
)
def test_phq9_totals_fall_in_the_published_bands(total, band):
    result = score_phq9(phq9_totalling(total, item9=0 if total <= 24 else None))
    assert result.total == total
    assert result.band == band


def test_phq9_item_9_above_zero_means_self_harm_thoughts():
    assert score_phq9(phq9_totalling(3, item9=1)).self_harm_thoughts
    assert not score_phq9(phq9_totalling(3, item9=0)).self_harm_thoughts


def test_phq9_refuses_a_wrong_number_of_items_or_out_of_range_scores():
    with pytest.raises(ValueError, match="exactly 9"):
        score_phq9([1] * 8)
    with pytest.raises(ValueError, match="item 3 is 4"):
        score_phq9([0, 0, 4, 0, 0, 0, 0, 0, 0])
    with pytest.raises(ValueError, match="item 1"):
        score_phq9([-1, 0, 0, 0, 0, 0, 0, 0, 0])
    with pytest.raises(ValueError, match="item 2"):
        score_phq9([0, True, 0, 0, 0, 0, 0, 0, 0])


@pytest.mark.parametrize(
    ("items", "band"),
    [
        ([0] * 7, "minimal"),
        ([1, 1, 1, 1, 1, 0, 0], "mild"),
        ([2, 2, 2, 2, 2, 0, 0], "moderate"),
        ([3, 3, 3, 3, 3, 0, 0], "severe"),
        ([3] * 7, "severe"),
    ],
)
def test_gad7_bands(items, band):
    result = score_gad7(items)
    assert result.total == sum(items)
    assert result.band == band


def test_gad7_needs_seven_items_scored_0_to_3():
    with pytest.raises(ValueError, match="exactly 7"):
        score_gad7([0] * 9)
    with pytest.raises(ValueError, match="item 7"):
        score_gad7([0, 0, 0, 0, 0, 0, 5])


def test_cssrs_intent_plan_or_recent_behaviour_is_high_risk():
    for item in (4, 5, 6):
        answers = [False] * 6
        answers[item - 1] = True
        assert cssrs_risk(answers) == "high", item


def test_cssrs_ideation_with_a_method_but_no_intent_is_moderate():
    assert cssrs_risk([True, True, True, False, False, False]) == "moderate"


def test_cssrs_wish_to_be_dead_or_non_specific_thoughts_alone_is_low():
    assert cssrs_risk([True, True, False, False, False, False]) == "low"
    assert cssrs_risk(NO_RISK) == "low"


def test_cssrs_needs_six_yes_no_answers():
    with pytest.raises(ValueError, match="exactly 6"):
        cssrs_risk([False] * 5)
    with pytest.raises(ValueError, match="item 2"):
        cssrs_risk([False, 1, False, False, False, False])


@pytest.mark.parametrize(
    ("mean", "band"),
    [
        (0.0, "none"),
        (0.29, "none"),
        (0.3, "low"),
        (0.69, "low"),
        (0.7, "moderate"),
        (1.69, "moderate"),
        (1.7, "high"),
        (2.69, "high"),
        (2.7, "very_high"),
        (3.49, "very_high"),
        (3.5, "extremely_high"),
        (4.0, "extremely_high"),
    ],
)
def test_bsl23_mean_severity_bands(mean, band):
    assert bsl23_band(mean) == band


@pytest.mark.parametrize("mean", [-0.1, 4.01, float("nan")])
def test_bsl23_mean_outside_0_to_4_is_refused(mean):
    with pytest.raises(ValueError, match="BSL-23"):
        bsl23_band(mean)


def test_a_calm_screening_is_low_risk_with_no_flags_and_no_crisis_resources():
    result = assess(NO_RISK, CALM_PHQ9, CALM_GAD7)
    assert result.risk_level == "low"
    assert not result.needs_immediate_response
    assert result.flags == ()
    assert safety_resources_for(result) == []


def test_cssrs_high_needs_an_immediate_response_and_shows_988():
    result = assess([True, True, True, True, False, False], CALM_PHQ9, CALM_GAD7)
    assert result.cssrs_risk == "high"
    assert result.risk_level == "high"
    assert result.needs_immediate_response
    assert "cssrs_high" in result.flags
    contacts = [r["contact"] for r in safety_resources_for(result)]
    assert "call or text 988" in contacts


def test_phq9_self_harm_thoughts_raise_risk_to_moderate_and_return_the_988_resource():
    result = assess(NO_RISK, phq9_totalling(1, item9=1), CALM_GAD7)
    assert result.risk_level == "moderate"
    assert not result.needs_immediate_response
    assert result.flags == ("phq9_self_harm_thoughts",)
    resources = safety_resources_for(result)
    assert [r["name"] for r in resources] == [r["name"] for r in SAFETY_RESOURCES]
    assert any("988" in r["contact"] for r in resources)
    assert any("911" in r["contact"] and "local emergency" in r["contact"] for r in resources)
    assert any("clinical lead" in r["contact"] for r in resources)


def test_cssrs_moderate_shows_crisis_resources_without_an_immediate_alert():
    result = assess([True, True, True, False, False, False], CALM_PHQ9, CALM_GAD7)
    assert result.risk_level == "moderate"
    assert result.flags == ("cssrs_moderate",)
    assert not result.needs_immediate_response
    assert safety_resources_for(result)


def test_severe_depression_and_anxiety_are_flagged_without_raising_suicide_risk():
    result = assess(NO_RISK, phq9_totalling(22, item9=0), [3] * 7)
    assert result.phq9.band == "severe"
    assert result.gad7.band == "severe"
    assert result.flags == ("phq9_severe", "gad7_severe")
    assert result.risk_level == "low"


def test_moderately_severe_depression_is_not_flagged_as_severe():
    result = assess(NO_RISK, phq9_totalling(15, item9=0), CALM_GAD7)
    assert result.phq9.band == "moderately_severe"
    assert "phq9_severe" not in result.flags


def test_flags_list_every_finding_in_a_fixed_order():
    result = assess([True] * 6, phq9_totalling(25, item9=3), [3] * 7)
    assert result.flags == ("cssrs_high", "phq9_self_harm_thoughts", "phq9_severe", "gad7_severe")


def test_optional_ders16_and_bsl23_are_kept_as_entered():
    result = assess(NO_RISK, CALM_PHQ9, CALM_GAD7, ders16_total=52, bsl23_mean=1.9)
    assert result.ders16_total == 52
    assert result.bsl23_mean == 1.9
    assert result.bsl23_band == "high"
    bare = assess(NO_RISK, CALM_PHQ9, CALM_GAD7)
    assert bare.ders16_total is None
    assert bare.bsl23_band is None


@pytest.mark.parametrize("total", [15, 81, 0])
def test_ders16_total_must_be_16_to_80(total):
    with pytest.raises(ValueError, match="DERS-16"):
        assess(NO_RISK, CALM_PHQ9, CALM_GAD7, ders16_total=total)


def test_changing_the_returned_resources_does_not_change_what_the_next_client_sees():
    result = assess([False, False, False, False, False, True], CALM_PHQ9, CALM_GAD7)
    safety_resources_for(result)[0]["contact"] = "tampered"
    assert safety_resources_for(result)[0]["contact"] == "call or text 988"
