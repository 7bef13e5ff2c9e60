"""Attendance and the four-miss rule, per the program's settings.

A miss is an absence; an arrival later than ``late_minutes_count_as_absence``; and an excused
(pre-notified) absence when ``prenotified_absences_count``. Misses are counted consecutively over
the member's sessions in date order (a cancelled session is not one of them). One miss below
``consecutive_miss_limit`` puts the client at risk (outreach before discharge); at the limit the
enrollment ends (``consecutive_misses``). The outcome is computed from every record, so a late
entry or a correction recomputes everything after it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

PRESENT, LATE, ABSENT, EXCUSED = "present", "late", "absent", "excused"
STATUSES = (PRESENT, LATE, ABSENT, EXCUSED)


@dataclass(frozen=True)
class Rules:
    miss_limit: int = 4
    late_minutes: int = 15
    excused_counts: bool = True

    @classmethod
    def of(cls, settings: dict) -> Rules:
        return cls(
            miss_limit=int(settings.get("consecutive_miss_limit", 4)),
            late_minutes=int(settings.get("late_minutes_count_as_absence", 15)),
            excused_counts=bool(settings.get("prenotified_absences_count", True)),
        )


def is_miss(record: dict, rules: Rules) -> bool:
    status = record["status"]
    if status == ABSENT:
        return True
    if status == LATE:
        return int(record.get("minutes_late") or 0) > rules.late_minutes
    if status == EXCUSED:
        return rules.excused_counts
    return False


@dataclass
class Outcome:
    """What a member's records add up to."""

    consecutive_misses: int = 0  # the current run
    at_risk_at: list[str] = field(default_factory=list)  # sessions where a run reached limit-1
    discharged_at: str | None = None  # the session whose miss reached the limit
    attended: int = 0
    recorded: int = 0

    @property
    def attendance_rate(self) -> float | None:
        return round(self.attended / self.recorded, 3) if self.recorded else None


def evaluate(records: Iterable[tuple[str, dict]], rules: Rules) -> Outcome:
    """``records``: (session id, record) in session order, the member's recorded sessions."""
    outcome = Outcome()
    run = 0
    for session_id, record in records:
        outcome.recorded += 1
        if is_miss(record, rules):
            run += 1
            if run == rules.miss_limit - 1:
                outcome.at_risk_at.append(session_id)
            if run == rules.miss_limit and outcome.discharged_at is None:
                outcome.discharged_at = session_id
        else:
            run = 0
            outcome.attended += 1
        if outcome.discharged_at is not None:
            outcome.consecutive_misses = run
            break
        outcome.consecutive_misses = run
    return outcome
