"""Coaching worker: ``python -m coaching.worker``."""

from __future__ import annotations

from coaching import events, handlers, repository, timers
from coaching.bootstrap import bootstrap
from dbt_shared.bootstrap import service_worker


def main() -> None:
    service_worker(events, repository, handlers, timers, bootstrap)


if __name__ == "__main__":
    main()
