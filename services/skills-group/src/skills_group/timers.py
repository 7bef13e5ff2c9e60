"""Skills Group's periodic jobs, run by its worker, each calling the service layer."""

from __future__ import annotations

from dbt_shared.worker import Timer, WorkerContext
from skills_group import services
from skills_group.bootstrap import Components

# A member graduates once their last session has started: hourly is soon enough, and the job
# reads only the enrollments that hold a seat now.
GRADUATION_INTERVAL_S = 3600
# The overview's figures as gauges for the dashboards: they change over days, and a run reads
# every waiting client (4,000 waiting took FerretDB 0.8 s of CPU), so every quarter hour.
GAUGES_INTERVAL_S = 900


def timers(components: Components) -> list[Timer]:
    def graduate(_ctx: WorkerContext) -> bool:
        return services.graduate_due(components) > 0

    def gauges(_ctx: WorkerContext) -> None:
        services.publish_gauges(components)

    return [
        Timer("graduation", GRADUATION_INTERVAL_S, graduate),
        Timer("overview-gauges", GAUGES_INTERVAL_S, gauges),
    ]
