"""Intake's periodic jobs: the waitlist gauges (per site and stage) for the dashboards, and the
hourly recount of the tallies behind the waitlist's and caseloads' numbers."""

from __future__ import annotations

from dbt_shared.worker import Timer, WorkerContext
from intake import metrics
from intake.bootstrap import Components
from intake.services import oversight

# The gauges read the tallies (an ``_id`` read per site and program): every 5 minutes keeps
# the dashboards current. The recount reads what waits and what therapists carry at the sites
# changed since the run before (none at rest; the last day at the first run): hourly bounds
# how long a tally a killed process left off stays off.
WAITLIST_GAUGES_INTERVAL_S = 300
TALLY_RECOUNT_INTERVAL_S = 3600


def timers(components: Components) -> list[Timer]:
    def publish_waitlist_sizes(_ctx: WorkerContext) -> None:
        for (site_id, stage), count in oversight.waitlist_sizes(components).items():
            metrics.WAITLIST.labels(site_id, stage).set(count)

    def recount_tallies(_ctx: WorkerContext) -> None:
        oversight.reconcile_tallies(components)

    return [
        Timer("waitlist-gauges", WAITLIST_GAUGES_INTERVAL_S, publish_waitlist_sizes),
        Timer("tally-recount", TALLY_RECOUNT_INTERVAL_S, recount_tallies),
    ]
