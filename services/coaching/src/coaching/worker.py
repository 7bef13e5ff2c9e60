"""Coaching worker: ``python -m coaching.worker``."""

from __future__ import annotations

from coaching import store
from coaching.handlers import HANDLERS
from dbt_shared.worker import run_worker


def main() -> None:
    run_worker(
        "coaching",
        handlers=HANDLERS,
        outbox_collections=store.OUTBOX_COLLECTIONS,
        prepare=lambda ctx: store.ensure_indexes(ctx.db),
    )


if __name__ == "__main__":
    main()
