"""Skills Group worker: ``python -m skills_group.worker``."""

from __future__ import annotations

from dbt_shared.bootstrap import service_worker
from dbt_shared.worker import Wiring
from skills_group import events, handlers, repository, timers


def main() -> None:
    service_worker(events, repository, lambda ctx: Wiring(handlers.HANDLERS, timers.TIMERS))


if __name__ == "__main__":
    main()
