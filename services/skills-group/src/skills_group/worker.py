"""Skills Group worker: ``python -m skills_group.worker``."""

from __future__ import annotations

from dbt_shared.bootstrap import service_worker
from skills_group import events, handlers, repository, timers
from skills_group.bootstrap import bootstrap


def main() -> None:
    service_worker(events, repository, handlers, timers, bootstrap)


if __name__ == "__main__":
    main()
