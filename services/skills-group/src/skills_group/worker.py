"""Skills Group worker: ``python -m skills_group.worker``."""

from __future__ import annotations

from dbt_shared.worker import run_worker
from skills_group import store
from skills_group.handlers import HANDLERS


def main() -> None:
    run_worker(
        "skills-group",
        handlers=HANDLERS,
        outbox_collections=store.OUTBOX_COLLECTIONS,
        prepare=lambda ctx: store.ensure_indexes(ctx.db),
    )


if __name__ == "__main__":
    main()
