"""A coaching request in the clinic's words: the statuses it passes through, the two deadlines
it runs against, the 24-hour rule that holds it, and its steps once it was made
(``CoachingRequest``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from dbt_shared.errors import Conflict

# In hand: what a clinician still has to do something about (a held request was answered with
# the rule and the crisis route; it is listed with ``status=held_24_hour_rule``).
ACTIVE_STATUSES = ("open", "acknowledged", "called_back")
#: Waiting out the 24-hour rule.
HELD = "held_24_hour_rule"
#: The deadlines a request runs against: acknowledged by, called back by.
ACK, CALLBACK = "acknowledgement", "callback"
#: The 24-hour rule: for this long after self-harm, coaching calls wait.
HOLD = timedelta(hours=24)
#: What the client is told of a held request.
RULE_TEXT = (
    "Your program keeps the 24-hour rule: for 24 hours after self-harm, coaching calls wait "
    "so that help comes before harm, not after it. Your request is recorded and your "
    "therapist is told. If you are in danger now, use the emergency route."
)


# -- a request's steps after it was made ---------------------------------------------------------
@dataclass(frozen=True)
class Acknowledged:
    """A clinician took the request on (the acknowledgement deadline is met)."""


@dataclass(frozen=True)
class CalledBack:
    """A clinician called the client back (the call-back deadline is met)."""


@dataclass(frozen=True)
class Closed:
    """The request is over, with its outcome code (never a note)."""

    outcome: str


Step = Acknowledged | CalledBack | Closed


def add_history(request: dict[str, Any], what: str, by: str | None, now: datetime, **more):
    request.setdefault("history", []).append({"at": now, "what": what, "by": by, **more})


class CoachingRequest:
    """A request's lifecycle once it was made: acknowledged, called back, closed, in that order
    (calling back answers an unacknowledged request too; a held request may be answered at any
    step). Wraps the stored state; each step checks the status it starts from, changes the
    state, appends to the history and collects the step it caused; the service layer saves
    state and events together under the request's lock. A refused step changes nothing."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state
        self.events: list[Step] = []

    @property
    def status(self) -> str:
        return self.state["status"]

    def acknowledge(self, *, by: str, now: datetime) -> None:
        if self.status not in ("open", HELD):
            raise Conflict("This request was acknowledged already.", kind="request-state")
        self.state.update(status="acknowledged", acknowledged_at=now, acknowledged_by=by)
        self._record("acknowledged", by, now, Acknowledged())

    def call_back(self, *, by: str, now: datetime) -> None:
        if self.status not in ("open", "acknowledged", HELD):
            raise Conflict("This request was called back or closed already.", kind="request-state")
        if "acknowledged_at" not in self.state:  # calling back answers the request too
            self.state.update(acknowledged_at=now, acknowledged_by=by)
        self.state.update(status="called_back", called_back_at=now, called_back_by=by)
        self._record("called_back", by, now, CalledBack())

    def close(self, *, by: str, now: datetime, outcome: str, duration_minutes: int) -> None:
        if self.status == "closed":
            raise Conflict("This request is closed already.", kind="request-state")
        self.state.update(
            status="closed",
            closed_at=now,
            closed_by=by,
            outcome=outcome,
            duration_minutes=duration_minutes,
        )
        self._record("closed", by, now, Closed(outcome), outcome=outcome)

    def _record(self, what: str, by: str, now: datetime, step: Step, **more: Any) -> None:
        add_history(self.state, what, by, now, **more)
        self.state["active"] = self.status in ACTIVE_STATUSES
        self.events.append(step)
