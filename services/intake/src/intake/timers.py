"""Intake's periodic jobs: the waitlist gauges (per site and stage) for the dashboards."""

from __future__ import annotations

from dbt_shared.worker import Timer, WorkerContext
from intake import metrics
from intake.bootstrap import Components
from intake.services import oversight


def timers(components: Components) -> list[Timer]:
    def publish_waitlist_sizes(_ctx: WorkerContext) -> None:
        for (site_id, stage), count in oversight.waitlist_sizes(components).items():
            metrics.WAITLIST.labels(site_id, stage).set(count)

    return [Timer("waitlist-gauges", 30, publish_waitlist_sizes)]
