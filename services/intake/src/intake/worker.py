"""Intake worker: ``python -m intake.worker`` (outbox relay; waitlist gauges)."""

from __future__ import annotations

from dbt_shared.worker import Timer, WorkerContext, run_worker
from intake import metrics, pipeline, store
from intake.handlers import HANDLERS


def publish_waitlist_sizes(ctx: WorkerContext) -> None:
    """Waitlist size per site and stage, every stage of every known site (zeros included)."""
    counts = {
        (row["site_id"], row["status"]): row["count"]
        for row in store.waitlist_counts(ctx.db, list(pipeline.WAITING_STAGES))
    }
    for site in ctx.db[store.SITES].find({}, {"_id": 1}):
        for stage in pipeline.WAITING_STAGES:
            metrics.WAITLIST.labels(site["_id"], stage).set(counts.get((site["_id"], stage), 0))


def main() -> None:
    run_worker(
        "intake",
        handlers=HANDLERS,
        outbox_collections=store.OUTBOX_COLLECTIONS,
        timers=[Timer("waitlist-gauges", 30, publish_waitlist_sizes)],
        prepare=lambda ctx: store.ensure_indexes(ctx.db),
    )


if __name__ == "__main__":
    main()
