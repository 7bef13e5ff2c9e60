"""Intake worker: ``python -m intake.worker`` (outbox relay; waitlist gauges)."""

from __future__ import annotations

from dbt_shared.contracts import intake
from dbt_shared.events.catalog import Catalog
from dbt_shared.worker import Wiring, WorkerContext, run_worker
from intake import bootstrap, handlers, repository, timers


def wire(ctx: WorkerContext) -> Wiring:
    components = bootstrap.bootstrap(ctx.db, ctx.clock)
    return Wiring(handlers.handlers(components), timers.timers(components))


def main() -> None:
    run_worker(
        "intake",
        catalog=Catalog.of(intake),
        outbox_collections=repository.OUTBOX_COLLECTIONS,
        wire=wire,
        prepare=lambda ctx: repository.ensure_indexes(ctx.db),
    )


if __name__ == "__main__":
    main()
