"""Coaching worker: ``python -m coaching.worker``."""

from __future__ import annotations

from coaching import store
from coaching.handlers import HANDLERS
from dbt_shared.contracts import coaching, intake
from dbt_shared.events.catalog import Catalog
from dbt_shared.worker import Wiring, run_worker


def main() -> None:
    run_worker(
        "coaching",
        catalog=Catalog.of(intake, coaching),
        wire=lambda ctx: Wiring(HANDLERS),
        outbox_collections=store.OUTBOX_COLLECTIONS,
        prepare=lambda ctx: store.ensure_indexes(ctx.db),
    )


if __name__ == "__main__":
    main()
