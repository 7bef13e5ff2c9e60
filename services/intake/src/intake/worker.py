"""Intake worker: ``python -m intake.worker`` (outbox relay; waitlist gauges)."""

from __future__ import annotations

from dbt_shared.bootstrap import service_worker
from intake import events, handlers, repository, timers
from intake.bootstrap import bootstrap


def main() -> None:
    service_worker(events, repository, handlers, timers, bootstrap)


if __name__ == "__main__":
    main()
