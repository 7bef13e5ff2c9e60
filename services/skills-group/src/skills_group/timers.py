"""Skills Group's periodic jobs, run by its worker, each calling the service layer.

None yet (session reminders and the close of a module's attendance will be timers).
"""

from __future__ import annotations

from dbt_shared.worker import Timer
from skills_group.bootstrap import Components


def timers(_components: Components) -> list[Timer]:
    return []
