"""Coaching's periodic jobs, run by its worker, each calling the service layer.

None yet (the escalation of unacknowledged requests and the check for coverage gaps in the rota
will be timers).
"""

from __future__ import annotations

from coaching.bootstrap import Components
from dbt_shared.worker import Timer


def timers(_components: Components) -> list[Timer]:
    return []
