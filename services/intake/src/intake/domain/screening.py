"""Scoring of the intake screening measures and the risk triage that follows from them.

Scores are computed from the answers as entered; no item text of any instrument lives here.
PHQ-9 and GAD-7 are public domain. The C-SSRS screener, DERS-16 and BSL-23 are only scored or
range-checked. The overall risk level decides whether a clinician must respond at once and
whether the crisis resources are shown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# (lowest total, highest total, band): the published PHQ-9 severity bands.
PHQ9_BANDS: tuple[tuple[int, int, str], ...] = (
    (0, 4, "minimal"),
    (5, 9, "mild"),
    (10, 14, "moderate"),
    (15, 19, "moderately_severe"),
    (20, 27, "severe"),
)

# (lowest total, highest total, band): the published GAD-7 severity bands.
GAD7_BANDS: tuple[tuple[int, int, str], ...] = (
    (0, 4, "minimal"),
    (5, 9, "mild"),
    (10, 14, "moderate"),
    (15, 21, "severe"),
)

# (mean from, band) for means at or above the bound, up to the next one: the published BSL-23
# severity grading (Kleindienst, Jungkunz & Bohus 2020, "A proposed severity classification of
# borderline symptoms using the Borderline Symptom List (BSL-23)", Borderline Personality
# Disorder and Emotion Dysregulation 7:11). The band codes are this platform's.
BSL23_BANDS: tuple[tuple[float, str], ...] = (
    (0.0, "none"),
    (0.3, "low"),
    (0.7, "moderate"),
    (1.7, "high"),
    (2.7, "very_high"),
    (3.5, "extremely_high"),
)

DERS16_RANGE = (16, 80)  # 16 items scored 1-5

RISK_LEVELS = ("low", "moderate", "high")

FLAGS = (
    "cssrs_high",
    "cssrs_moderate",
    "phq9_self_harm_thoughts",
    "phq9_severe",
    "gad7_severe",
)

# Shown whenever a screening reveals suicide risk or self-harm thoughts. Coaching is not an
# emergency service, so the emergency route is always part of what is shown.
SAFETY_RESOURCES: tuple[dict[str, str], ...] = (
    {
        "name": "988 Suicide & Crisis Lifeline (US)",
        "contact": "call or text 988",
        "when": "thoughts of suicide or self-harm, or any emotional crisis; open 24 hours",
    },
    {
        "name": "Emergency services",
        "contact": "911 in the US, or your local emergency number",
        "when": "someone's life is in immediate danger",
    },
    {
        "name": "Clinic's clinical lead",
        "contact": "contact the clinic's clinical lead now",
        "when": "a screening shows high suicide risk or thoughts of self-harm",
    },
)


@dataclass(frozen=True)
class Phq9Result:
    total: int
    band: str
    self_harm_thoughts: bool  # item 9 answered above "not at all"


@dataclass(frozen=True)
class Gad7Result:
    total: int
    band: str


@dataclass(frozen=True)
class Assessment:
    cssrs_risk: str
    phq9: Phq9Result
    gad7: Gad7Result
    ders16_total: int | None
    bsl23_mean: float | None
    bsl23_band: str | None
    risk_level: str
    needs_immediate_response: bool
    flags: tuple[str, ...]


def _item_scores(name: str, items: list[int], count: int) -> list[int]:
    if len(items) != count:
        raise ValueError(f"{name} needs exactly {count} item scores, got {len(items)}")
    for number, score in enumerate(items, start=1):
        # bool is an int in Python; a yes/no where a 0-3 score belongs is a mistake upstream.
        if isinstance(score, bool) or not isinstance(score, int):
            raise ValueError(f"{name} item {number} must be a whole number 0-3, got {score!r}")
        if not 0 <= score <= 3:
            raise ValueError(f"{name} item {number} is {score}; each item is scored 0-3")
    return list(items)


def _band(bands: tuple[tuple[int, int, str], ...], total: int) -> str:
    for low, high, band in bands:
        if low <= total <= high:
            return band
    raise ValueError(f"total {total} is outside every band")  # unreachable for valid items


def score_phq9(items: list[int]) -> Phq9Result:
    """PHQ-9 total (0-27), its severity band, and whether item 9 reports self-harm thoughts."""
    scores = _item_scores("PHQ-9", items, 9)
    total = sum(scores)
    return Phq9Result(total=total, band=_band(PHQ9_BANDS, total), self_harm_thoughts=scores[8] > 0)


def score_gad7(items: list[int]) -> Gad7Result:
    """GAD-7 total (0-21) and its severity band."""
    scores = _item_scores("GAD-7", items, 7)
    total = sum(scores)
    return Gad7Result(total=total, band=_band(GAD7_BANDS, total))


def cssrs_risk(answers: list[bool]) -> str:
    """Triage of the six C-SSRS screener answers into "low", "moderate" or "high".

    Items: 1 wish to be dead; 2 non-specific active suicidal thoughts; 3 active ideation with a
    method, without intent; 4 active ideation with some intent; 5 active ideation with a
    specific plan and intent; 6 suicidal behaviour. The published screener asks item 6 for the
    lifetime and the past 3 months; here a yes means "within the past 3 months".

    The screener skips items 3-5 when item 2 is no; a yes on them is still counted if it was
    recorded, since under-reading risk is the costlier mistake.
    """
    if len(answers) != 6:
        raise ValueError(f"the C-SSRS screener needs exactly 6 yes/no answers, got {len(answers)}")
    for number, answer in enumerate(answers, start=1):
        if not isinstance(answer, bool):
            raise ValueError(f"C-SSRS item {number} must be yes or no (a bool), got {answer!r}")
    if answers[3] or answers[4] or answers[5]:
        return "high"
    if answers[2]:
        return "moderate"
    return "low"


def bsl23_band(mean: float) -> str:
    """Severity band of a BSL-23 mean item score (0-4), by the published severity grading."""
    if isinstance(mean, bool) or not isinstance(mean, int | float) or math.isnan(mean):
        raise ValueError(f"a BSL-23 mean must be a number 0-4, got {mean!r}")
    if not 0 <= mean <= 4:
        raise ValueError(f"a BSL-23 mean is between 0 and 4, got {mean}")
    band = BSL23_BANDS[0][1]
    for lower_bound, name in BSL23_BANDS:
        if mean >= lower_bound:
            band = name
    return band


def _check_ders16(total: int) -> None:
    low, high = DERS16_RANGE
    if isinstance(total, bool) or not isinstance(total, int):
        raise ValueError(f"a DERS-16 total must be a whole number {low}-{high}, got {total!r}")
    if not low <= total <= high:
        raise ValueError(f"a DERS-16 total is between {low} and {high}, got {total}")


def assess(
    cssrs: list[bool],
    phq9: list[int],
    gad7: list[int],
    ders16_total: int | None = None,
    bsl23_mean: float | None = None,
) -> Assessment:
    """Score one intake screening and decide its overall risk level.

    The overall level is "high" when the C-SSRS triage is high; "moderate" when the C-SSRS
    triage is moderate or PHQ-9 item 9 reports self-harm thoughts; otherwise "low". A high level
    needs an immediate clinician response.
    """
    risk = cssrs_risk(cssrs)
    phq9_result = score_phq9(phq9)
    gad7_result = score_gad7(gad7)
    if ders16_total is not None:
        _check_ders16(ders16_total)
    band = bsl23_band(bsl23_mean) if bsl23_mean is not None else None

    if risk == "high":
        risk_level = "high"
    elif risk == "moderate" or phq9_result.self_harm_thoughts:
        risk_level = "moderate"
    else:
        risk_level = "low"

    flags: list[str] = []
    if risk == "high":
        flags.append("cssrs_high")
    elif risk == "moderate":
        flags.append("cssrs_moderate")
    if phq9_result.self_harm_thoughts:
        flags.append("phq9_self_harm_thoughts")
    if phq9_result.band == "severe":
        flags.append("phq9_severe")
    if gad7_result.band == "severe":
        flags.append("gad7_severe")

    return Assessment(
        cssrs_risk=risk,
        phq9=phq9_result,
        gad7=gad7_result,
        ders16_total=ders16_total,
        bsl23_mean=bsl23_mean,
        bsl23_band=band,
        risk_level=risk_level,
        needs_immediate_response=risk_level == "high",
        flags=tuple(flags),
    )


def safety_resources_for(assessment: Assessment) -> list[dict[str, str]]:
    """The crisis resources to show after this screening, or [] when none are called for.

    Shown for a high or moderate overall level, which covers PHQ-9 self-harm thoughts and
    active suicidal ideation with a method on the C-SSRS: showing a crisis line needlessly costs
    little, failing to show it can cost a life.
    """
    if assessment.risk_level in ("high", "moderate") or assessment.phq9.self_harm_thoughts:
        return [dict(resource) for resource in SAFETY_RESOURCES]
    return []


# What a stored screening keeps in the clear: which one, when and by whom. Its clinical content
# (scores, bands, flags, the overall risk level, PHQ-9 item 9) is health data: sealed at rest,
# like the answers it was scored from.
STORED_PLAIN = ("id", "completed_at", "completed_by")


def split_summary(summary: dict) -> tuple[dict, dict]:
    """(kept plain, to be sealed) parts of a screening summary (its answers apart)."""
    plain = {k: v for k, v in summary.items() if k in STORED_PLAIN}
    clinical = {k: v for k, v in summary.items() if k not in STORED_PLAIN and k != "answers"}
    return plain, clinical
