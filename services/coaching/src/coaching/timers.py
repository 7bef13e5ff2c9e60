"""Coaching's periodic jobs, run by its worker, each calling the service layer: the deadlines
of coaching requests (every 15 s, never backed off: ``request_deadlines`` holds only what is
pending, so a run at rest reads an empty collection), the release of requests held by the
24-hour rule (every 60 s: ``request_holds`` likewise holds only the holds not ended) and the
coverage check of every site's next 7 days (hourly; a change of hours, rota, overrides or time
off checks at once)."""

from __future__ import annotations

from coaching.bootstrap import Components
from coaching.services import availability, escalation, holds
from dbt_shared.worker import Timer, WorkerContext

DEADLINES_INTERVAL_S = 15.0
HOLDS_INTERVAL_S = 60.0
COVERAGE_INTERVAL_S = 3600.0


def timers(components: Components) -> list[Timer]:
    def deadlines(_ctx: WorkerContext) -> None:
        escalation.escalate_due(components)

    def released(_ctx: WorkerContext) -> None:
        holds.release_due(components)

    def coverage(_ctx: WorkerContext) -> None:
        availability.check_all_gaps(components)

    return [
        Timer("request-deadlines", DEADLINES_INTERVAL_S, deadlines),
        Timer("request-holds", HOLDS_INTERVAL_S, released),
        Timer("coverage-gaps", COVERAGE_INTERVAL_S, coverage),
    ]
