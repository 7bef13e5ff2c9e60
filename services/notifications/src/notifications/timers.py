"""Notifications' periodic jobs: sending the deliveries that are due (``services.dispatch_due``)."""

from __future__ import annotations

from dbt_shared.worker import Timer, WorkerContext
from notifications import services
from notifications.bootstrap import Components

# Twice a second: a risk alert leaves within a second of the event, and an idle pass is one
# indexed query that finds nothing.
DELIVERIES_INTERVAL_S = 0.5


def timers(components: Components) -> list[Timer]:
    def send_due(ctx: WorkerContext) -> None:
        services.dispatch_due(components, stop=ctx.stop)

    return [Timer("deliveries", DELIVERIES_INTERVAL_S, send_due)]
