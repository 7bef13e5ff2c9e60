"""Notifications worker: ``python -m notifications.worker``.

Consumes intake's events into inbox items and pending deliveries, sends what is due, relays its
own delivery events.
"""

from __future__ import annotations

from dbt_shared.config import env_int
from dbt_shared.worker import Timer, run_worker
from notifications import dispatch, store
from notifications.domain import RetryPolicy
from notifications.handlers import HANDLERS


def main() -> None:
    smtp = dispatch.SmtpSettings.from_env()
    policy = RetryPolicy(max_attempts=env_int("DELIVERY_MAX_ATTEMPTS", 6))
    run_worker(
        "notifications",
        handlers=HANDLERS,
        outbox_collections=store.OUTBOX_COLLECTIONS,
        timers=[Timer("deliveries", 0.5, lambda ctx: dispatch.dispatch_due(ctx, smtp, policy))],
        prepare=lambda ctx: store.ensure_indexes(ctx.db),
    )


if __name__ == "__main__":
    main()
