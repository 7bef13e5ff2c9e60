"""Notifications' periodic jobs: sending the deliveries that are due (``services.dispatch_due``)."""

from __future__ import annotations

from dbt_shared.worker import Timer, WorkerContext
from notifications import services
from notifications.bootstrap import Components

# Twice a second while there is work: a risk alert leaves within a second of the event. A pass
# that finds nothing due doubles the wait, up to 2 s: at rest the timer reads the (empty)
# pending queue once every 2 s, and an alert still leaves within about 2 s.
DELIVERIES_INTERVAL_S = 0.5
DELIVERIES_IDLE_MAX_S = 2.0


def timers(components: Components) -> list[Timer]:
    def send_due(ctx: WorkerContext) -> bool:
        return services.dispatch_due(components, stop=ctx.stop) > 0

    return [Timer("deliveries", DELIVERIES_INTERVAL_S, send_due, idle_max_s=DELIVERIES_IDLE_MAX_S)]
