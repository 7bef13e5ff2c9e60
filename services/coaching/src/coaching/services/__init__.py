"""Coaching's use cases, one function each: views, handlers and timers call them.

Availability (``availability``: hours, rota, overrides, time off, coverage and gaps), coaching
requests (``requests``: routing, the crisis path, the 24-hour rule, deadlines; ``crisis``: who
asks and the site's on-call read at once; ``escalation``
and ``holds``: the deadlines and holds that fell due; ``pace``: the request limit and crisis
repeats; ``steps``: acknowledgement, call-back, closure), diary cards
(``diary``), the relationship (``relationship``: check-ins, ruptures, goals, load) and the read
models (``directory``). Every access to a client's health data is audited; events carry ids and
codes only.
"""

from __future__ import annotations

from coaching.services import (
    availability,
    caseload,
    crisis,
    diary,
    directory,
    escalation,
    holds,
    pace,
    relationship,
    requests,
    safety,
    steps,
)

__all__ = [
    "availability",
    "caseload",
    "crisis",
    "diary",
    "directory",
    "escalation",
    "holds",
    "pace",
    "relationship",
    "requests",
    "safety",
    "steps",
]
