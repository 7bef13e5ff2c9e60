"""Coaching's periodic jobs, run by its worker, each calling the service layer: the deadlines
of coaching requests (every 15 s, never backed off: ``request_deadlines`` holds only what is
pending, so a run at rest reads an empty collection) and the coverage check of every site's
next 7 days (hourly; a change of hours, rota, overrides or time off checks at once)."""

from __future__ import annotations

from coaching.bootstrap import Components
from coaching.services import availability, escalation
from dbt_shared.worker import Timer, WorkerContext

DEADLINES_INTERVAL_S = 15.0
COVERAGE_INTERVAL_S = 3600.0


def timers(components: Components) -> list[Timer]:
    def deadlines(_ctx: WorkerContext) -> None:
        escalation.escalate_due(components)

    def coverage(_ctx: WorkerContext) -> None:
        availability.check_all_gaps(components)

    return [
        Timer("request-deadlines", DEADLINES_INTERVAL_S, deadlines),
        Timer("coverage-gaps", COVERAGE_INTERVAL_S, coverage),
    ]
