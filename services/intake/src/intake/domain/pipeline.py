"""The path of a referral from receipt to admission, as a state machine.

received -> screening -> eligible | not_eligible | needs_review -> orientation (1-6 sessions with
the individual therapist) -> committed -> admitted, with withdrawal possible before admission.
`transition` answers the new status or says why the move is refused; it stores nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

RECEIVED = "received"
SCREENING = "screening"
ELIGIBLE = "eligible"
NOT_ELIGIBLE = "not_eligible"
NEEDS_REVIEW = "needs_review"
ORIENTATION = "orientation"
COMMITTED = "committed"
ADMITTED = "admitted"
WITHDRAWN = "withdrawn"

STATUSES = (
    RECEIVED,
    SCREENING,
    ELIGIBLE,
    NOT_ELIGIBLE,
    NEEDS_REVIEW,
    ORIENTATION,
    COMMITTED,
    ADMITTED,
    WITHDRAWN,
)

# Statuses in which a person is still waiting for treatment to begin (waitlist counts).
WAITING_STAGES = (RECEIVED, SCREENING, ELIGIBLE, NEEDS_REVIEW, ORIENTATION, COMMITTED)
# Statuses where the intake path has ended. A not-eligible referral may still be closed by
# withdrawal (for instance with the reason "not_eligible" once the client has been told).
TERMINAL = frozenset({ADMITTED, WITHDRAWN, NOT_ELIGIBLE})

ELIGIBILITY_DECISIONS = (ELIGIBLE, NOT_ELIGIBLE, NEEDS_REVIEW)

# Statuses in which an assigned therapist carries the client on their caseload.
CASELOAD_STATUSES = frozenset({ELIGIBLE, ORIENTATION, COMMITTED, ADMITTED})

# What the client agrees to before commitment, with the words a coordinator reads.
AGREEMENTS = {
    "all_modes": "commitment to all four modes of treatment",
    "four_miss_rule": "agreement to the four-miss rule",
    "consent_to_treatment": "consent to treatment",
}
ORIENTATION_SESSIONS = (1, 6)  # orientation and commitment sessions before admission

# action -> statuses it is allowed from (in pipeline order).
ALLOWED_FROM: dict[str, tuple[str, ...]] = {
    "start_screening": (RECEIVED,),
    "record_screening": (RECEIVED, SCREENING),
    "decide_eligibility": (SCREENING, NEEDS_REVIEW),
    "start_orientation": (ELIGIBLE,),
    "assign_therapist": (ELIGIBLE, ORIENTATION, COMMITTED),
    "record_commitment": (ELIGIBLE, ORIENTATION),
    "admit": (COMMITTED,),
    "withdraw": tuple(s for s in STATUSES if s not in (ADMITTED, WITHDRAWN)),
}

_ACTION_WORDS = {
    "start_screening": "start screening for",
    "record_screening": "record a screening for",
    "decide_eligibility": "decide eligibility for",
    "start_orientation": "start orientation for",
    "assign_therapist": "assign a therapist to",
    "record_commitment": "record commitment for",
    "admit": "admit",
    "withdraw": "withdraw",
}


class TransitionRefused(Exception):
    """A referral cannot make the requested move; the message says why in plain words."""


class IllegalTransition(TransitionRefused):
    def __init__(self, action: str, current: str, allowed_from: tuple[str, ...]):
        self.action = action
        self.current = current
        self.allowed_from = allowed_from
        super().__init__(
            f"cannot {_ACTION_WORDS.get(action, action)} a referral that is {current}; "
            f"{action} needs {_either(allowed_from)}"
        )


class CommitmentIncomplete(TransitionRefused):
    """Commitment needs every agreement and at least one orientation session."""

    def __init__(self, missing: list[str]):
        self.missing = missing
        words = [AGREEMENTS.get(item, item) for item in missing if item in AGREEMENTS]
        parts = []
        if words:
            parts.append("the client has not yet given " + _both(words))
        if "orientation_sessions" in missing:
            parts.append("no orientation session has been held")
        super().__init__("commitment is incomplete: " + "; ".join(parts))


class AdmissionBlocked(TransitionRefused):
    def __init__(self, reasons: list[str]):
        self.reasons = reasons
        super().__init__("cannot admit yet: " + "; ".join(reasons))


def _either(items: tuple[str, ...] | list[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _both(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def allowed_actions(current: str) -> list[str]:
    """Actions a referral in this status may take (some still need facts, e.g. admit)."""
    _check_status(current)
    return [action for action, sources in ALLOWED_FROM.items() if current in sources]


def transition(current: str, action: str, **facts: object) -> str:
    """The status after `action`, or an exception saying why the referral cannot move.

    Facts by action:
      decide_eligibility: decision = "eligible" | "not_eligible" | "needs_review".
      record_commitment: all_modes, four_miss_rule, consent_to_treatment (bools, or together
        as agreements={...}) and orientation_sessions (sessions held, 1-6).
      admit: therapist_id (the assigned therapist, or None) and eligibility (the decision on
        record); a missing fact counts as not on record.
    """
    _check_status(current)
    if action not in ALLOWED_FROM:
        raise ValueError(f"unknown action {action!r}; known: {', '.join(ALLOWED_FROM)}")
    if action == "decide_eligibility":
        # A decision outside the three is a bad request whatever the status.
        _check_decision(facts.get("decision"))
    allowed_from = ALLOWED_FROM[action]
    if current not in allowed_from:
        raise IllegalTransition(action, current, allowed_from)

    if action in ("start_screening", "record_screening"):
        return SCREENING
    if action == "decide_eligibility":
        return str(facts["decision"])
    if action == "start_orientation":
        return ORIENTATION
    if action == "assign_therapist":
        return current
    if action == "record_commitment":
        _check_commitment(facts)
        return COMMITTED
    if action == "admit":
        _check_admission(facts)
        return ADMITTED
    return WITHDRAWN


def _check_status(current: str) -> None:
    if current not in STATUSES:
        raise ValueError(f"unknown referral status {current!r}")


def _check_decision(decision: object) -> None:
    if decision not in ELIGIBILITY_DECISIONS:
        raise ValueError(
            f"an eligibility decision is {_either(ELIGIBILITY_DECISIONS)}, got {decision!r}"
        )


def _check_commitment(facts: dict[str, object]) -> None:
    given = facts.get("agreements") or {}
    if not isinstance(given, Mapping):
        raise ValueError("agreements is a mapping of agreement name to true or false")
    agreements = dict(given)
    for name in AGREEMENTS:
        if name in facts:
            agreements[name] = facts[name]
    sessions = facts.get("orientation_sessions", 0)
    if isinstance(sessions, bool) or not isinstance(sessions, int) or sessions < 0:
        raise ValueError(f"orientation_sessions is a count of sessions held, got {sessions!r}")
    low, high = ORIENTATION_SESSIONS
    if sessions > high:
        raise ValueError(
            f"{sessions} orientation sessions recorded; orientation takes {low}-{high} sessions"
        )
    missing = [name for name in AGREEMENTS if agreements.get(name) is not True]
    if sessions < low:
        missing.append("orientation_sessions")
    if missing:
        raise CommitmentIncomplete(missing)


def _check_admission(facts: dict[str, object]) -> None:
    reasons = []
    if not facts.get("therapist_id"):
        reasons.append("no therapist is assigned")
    eligibility = facts.get("eligibility")
    if eligibility is None:
        reasons.append("no eligibility decision is on record")
    elif eligibility != ELIGIBLE:
        reasons.append(f"the eligibility on record is {eligibility}, not eligible")
    if reasons:
        raise AdmissionBlocked(reasons)


def waiting_days(received_at: datetime, now: datetime) -> int:
    """Whole days since the referral was received (0 if the clock puts now before receipt)."""
    return max(0, (now - received_at) // timedelta(days=1))
