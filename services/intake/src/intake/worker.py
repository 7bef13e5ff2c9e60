"""Intake worker: ``python -m intake.worker`` (outbox relay; no consumed events yet)."""

from __future__ import annotations

from dbt_shared.worker import run_worker
from intake import store
from intake.handlers import HANDLERS


def main() -> None:
    run_worker(
        "intake",
        handlers=HANDLERS,
        outbox_collections=store.OUTBOX_COLLECTIONS,
        prepare=lambda ctx: store.ensure_indexes(ctx.db),
    )


if __name__ == "__main__":
    main()
