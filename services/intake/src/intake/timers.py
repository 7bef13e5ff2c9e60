"""Intake's periodic jobs: the waitlist gauges (per site and stage) for the dashboards."""

from __future__ import annotations

from dbt_shared.worker import Timer, WorkerContext
from intake import metrics
from intake.bootstrap import Components
from intake.services import oversight

# A waitlist changes over days: recounting it every 5 minutes keeps the dashboards current
# and the platform at rest (each recount is a count per site and stage, by equality).
WAITLIST_GAUGES_INTERVAL_S = 300


def timers(components: Components) -> list[Timer]:
    def publish_waitlist_sizes(_ctx: WorkerContext) -> None:
        for (site_id, stage), count in oversight.waitlist_sizes(components).items():
            metrics.WAITLIST.labels(site_id, stage).set(count)

    return [Timer("waitlist-gauges", WAITLIST_GAUGES_INTERVAL_S, publish_waitlist_sizes)]
