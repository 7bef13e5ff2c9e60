"""Skills Group's composition root: what its processes and unit tests are built on.

No aggregate yet, so its components are the shared ones (the clock). With its first use case it
defines its own ``Components`` here: the repositories of curricula, groups, enrollments and
attendance (``repository.py``) on the settings' database, or on in-memory stores for tests.
"""

from __future__ import annotations

from dbt_shared.bootstrap import Components
from dbt_shared.clock import Clock, SystemClock


def bootstrap() -> Components:
    """The components of the api and worker processes."""
    return Components(clock=SystemClock())


def in_memory(clock: Clock) -> Components:
    """The components of unit tests: the given (fixed) clock."""
    return Components(clock=clock)
