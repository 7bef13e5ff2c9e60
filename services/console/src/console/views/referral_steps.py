"""The referral's pipeline, step by step, from the referral page: screening (its own page: one
thing per page), eligibility, orientation, commitment, therapist match (with its explanation, or
chosen by hand), admission with the client's availability, and withdrawal.

Each step posts to intake's step operation; intake decides whether the referral may take it
(its ``allowed_actions`` only decide which forms the page shows). A refusal draws the page again
with the step's messages at its fields and what was typed kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, redirect, render_template, session, url_for

from console.client import ServiceRefused, segment
from console.domain.referrals import (
    SCREENING_FLAGS,
    STATUS_NAMES,
    calls_for_risk_banner,
)
from console.views import forms
from console.web import api, roles
from dbt_shared.vocabulary import COORDINATING

blp = Blueprint("referral_steps", __name__, url_prefix="/referrals")

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES = dict(
    zip(
        WEEKDAYS,
        ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        strict=True,
    )
)
AVAILABILITY_ROWS = 3  # windows on the form; more can be added after admission
CSSRS_ITEMS = (
    "Wished to be dead or not wake up",
    "Thoughts of killing themselves",
    "Thought about how they might do this",
    "Had some intention of acting on these thoughts",
    "Started to work out or worked out the details",
    "Done, started or prepared to do anything to end their life (past 3 months)",
)
SCALE = [
    ("0", "Not at all"),
    ("1", "Several days"),
    ("2", "More than half the days"),
    ("3", "Nearly every day"),
]


def _yes(values: dict[str, str], name: str) -> bool | None:
    return True if values.get(name) == "yes" else None


def _int(value: str) -> int | str | None:
    """A number as a number; anything else as typed, for intake to refuse at its field."""
    if value == "":
        return None
    return int(value) if value.lstrip("-").isdigit() else value


def _drop_none(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None}


def _eligibility(v: dict[str, str]) -> dict[str, Any]:
    return _drop_none({"decision": v.get("decision") or None, "reason": v.get("reason") or None})


def _commitment(v: dict[str, str]) -> dict[str, Any]:
    return _drop_none(
        {
            "orientation_sessions": _int(v.get("orientation_sessions", "")),
            **{
                name: _yes(v, name)
                for name in ("all_modes", "four_miss_rule", "consent_to_treatment")
            },
        }
    )


def _therapist(v: dict[str, str]) -> dict[str, Any]:
    return _drop_none({"clinician_id": v.get("clinician_id") or None})


def _admission(v: dict[str, str]) -> dict[str, Any]:
    windows = []
    for i in range(AVAILABILITY_ROWS):
        window = {
            part: v.get(f"availability[{i}].{part}", "") for part in ("weekday", "start", "end")
        }
        if any(window.values()):
            windows.append(window)
    return {"availability": windows}


def _withdrawal(v: dict[str, str]) -> dict[str, Any]:
    return _drop_none({"reason": v.get("reason") or None, "note": v.get("note") or None})


@dataclass(frozen=True)
class Step:
    action: str  # intake's name for it, as in ``allowed_actions``
    path: str  # under /v1/referrals/<id>/
    body: Callable[[dict[str, str]], dict[str, Any]]
    wording: dict[str, str]


STEPS = {
    "eligibility": Step(
        "decide_eligibility",
        "eligibility",
        _eligibility,
        {"decision": "Choose a decision", "reason": "Say why, in a sentence"},
    ),
    "orientation": Step("start_orientation", "orientation", lambda v: {}, {}),
    "commitment": Step(
        "record_commitment",
        "commitment",
        _commitment,
        {
            "orientation_sessions": "Enter how many orientation sessions were held",
            "all_modes": "Confirm the commitment to all four modes of treatment",
            "four_miss_rule": "Confirm the agreement to the four-miss rule",
            "consent_to_treatment": "Confirm the consent to treatment",
        },
    ),
    "therapist": Step("assign_therapist", "therapist", _therapist, {"clinician_id": ""}),
    "admission": Step(
        "admit",
        "admission",
        _admission,
        {
            "availability": "Give at least one time the client can attend",
            **{
                f"availability[{i}].{part}": ""
                for i in range(AVAILABILITY_ROWS)
                for part in ("weekday", "start", "end")
            },
        },
    ),
    "withdrawal": Step("withdraw", "withdrawal", _withdrawal, {"reason": "Choose a reason"}),
}


def referral_page(referral_id: str, step: str = "", values=None, errors=None, form_error=None):
    """The referral with its next steps; ``step`` is the form to show refused, if any."""
    calls = api()
    found = calls.get("intake", f"/v1/referrals/{segment(referral_id)}")
    clinicians = []
    if "assign_therapist" in (found.get("allowed_actions") or []):
        listed = calls.get("intake", f"/v1/sites/{segment(found['site_id'])}/clinicians")
        clinicians = [
            c
            for c in listed["items"]
            if c.get("active", True) and "therapist" in (c.get("roles") or [])
        ]
    screenings = found.get("screenings") or []
    latest = screenings[-1] if screenings else None
    return render_template(
        "referrals/referral.html",
        referral=found,
        latest=latest,
        status_names=STATUS_NAMES,
        flag_names=SCREENING_FLAGS,
        at_risk=calls_for_risk_banner(latest),
        safety=session.pop("safety_resources", None),
        duplicates=session.pop("possible_duplicates", None),
        clinician_options=[("", "Match automatically (language, program, caseload)")]
        + [(c["id"], c["display_name"]) for c in clinicians],
        clinician_names={c["id"]: c["display_name"] for c in clinicians},
        weekday_options=[("", "Choose"), *WEEKDAY_NAMES.items()],
        rows=range(AVAILABILITY_ROWS),
        step=step,
        values=values or {},
        errors=errors or {},
        form_error=form_error,
    ), (422 if step else 200)


@blp.post("/<referral_id>/steps/<step>")
@roles(*COORDINATING)
def take(referral_id: str, step: str):
    """Take one step of the pipeline; back to the referral page."""
    chosen = STEPS.get(step)
    if chosen is None:
        return referral_page(referral_id)
    values = forms.submitted()
    try:
        api().post(
            "intake", f"/v1/referrals/{segment(referral_id)}/{chosen.path}", chosen.body(values)
        )
    except ServiceRefused as exc:
        errors, form_error = forms.refusal(exc, chosen.wording)
        return referral_page(referral_id, step, values, errors, form_error)
    return redirect(url_for("referrals.referral", referral_id=referral_id), code=303)


@blp.get("/<referral_id>/screening")
@roles(*COORDINATING)
def screening_form(referral_id: str):
    return _screening_page(referral_id, {}, {}, None, forms.idempotency_key())


def _screening_page(referral_id, values, errors, form_error, key, status=200):
    return render_template(
        "referrals/screening.html",
        referral_id=referral_id,
        cssrs=CSSRS_ITEMS,
        scale=SCALE,
        values=values,
        errors=errors,
        form_error=form_error,
        idempotency_key=key,
    ), status


@blp.post("/<referral_id>/screening")
@roles(*COORDINATING)
def record_screening(referral_id: str):
    """Score the answers (intake does); a high risk shows the banner and the safety resources
    to give the client now on the referral page."""
    values = forms.submitted()
    body = {
        "cssrs": [values[f"cssrs[{i}]"] == "yes" for i in range(6) if f"cssrs[{i}]" in values],
        "phq9": [
            int(values[f"phq9[{i}]"]) for i in range(9) if values.get(f"phq9[{i}]", "").isdigit()
        ],
        "gad7": [
            int(values[f"gad7[{i}]"]) for i in range(7) if values.get(f"gad7[{i}]", "").isdigit()
        ],
    }
    key = forms.idempotency_key()
    wording = {
        "cssrs": "Answer every C-SSRS question",
        "phq9": "Answer every PHQ-9 question",
        "gad7": "Answer every GAD-7 question",
    }
    try:
        result = api().post(
            "intake", f"/v1/referrals/{segment(referral_id)}/screenings", body, idempotency_key=key
        )
    except ServiceRefused as exc:
        errors, form_error = forms.refusal(exc, wording)
        return _screening_page(referral_id, values, errors, form_error, key, 422)
    if calls_for_risk_banner(result):
        # Site resources (crisis lines), not the client's data: kept for the next page only.
        session["safety_resources"] = result.get("safety_resources") or []
    return redirect(url_for("referrals.referral", referral_id=referral_id), code=303)
