"""Intake worker: ``python -m intake.worker`` (outbox relay; waitlist gauges)."""

from __future__ import annotations

from dbt_shared.bootstrap import service_worker
from intake import events, handlers, repository, timers
from intake.bootstrap import bootstrap
from intake.services import duplicates, screenings


def main() -> None:
    service_worker(events, repository, handlers, timers, components=_components)


def _components(ctx):
    c = bootstrap(ctx.db, ctx.clock)
    # screenings an earlier version stored in the clear are sealed, once, in the background
    screenings.seal_stored_in_background(c, ctx.db)
    # referrals an earlier version stored without a person key get one, once, likewise
    duplicates.key_stored_in_background(c, ctx.db)
    return c


if __name__ == "__main__":
    main()
