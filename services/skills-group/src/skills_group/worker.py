"""Skills Group worker: ``python -m skills_group.worker``."""

from __future__ import annotations

from dbt_shared.bootstrap import service_worker
from skills_group import events, handlers, repository, timers
from skills_group.bootstrap import bootstrap
from skills_group.services import attendance


def main() -> None:
    service_worker(events, repository, handlers, timers, components=_components)


def _components(ctx):
    c = bootstrap(ctx.db, ctx.clock)
    # reasons an earlier version stored in the clear are sealed, once, in the background
    attendance.seal_stored_reasons_in_background(c, ctx.db)
    return c


if __name__ == "__main__":
    main()
