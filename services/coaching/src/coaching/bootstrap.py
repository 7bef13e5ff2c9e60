"""Coaching's composition root: the components its api, worker and unit tests run on.

Coaching has no aggregate yet, so the shared components (the clock) serve. Its first use case
brings a ``Components`` of its own: the rota, coaching request and diary card repositories, on
MongoDB in the processes and in memory in tests.
"""

from __future__ import annotations

from dbt_shared.bootstrap import Components
from dbt_shared.clock import Clock, SystemClock


def bootstrap() -> Components:
    """For the processes: the system clock."""
    return Components(clock=SystemClock())


def in_memory(clock: Clock) -> Components:
    """For unit tests: a fixed clock, no infrastructure."""
    return Components(clock=clock)
