"""A group's calendar: its weekly sessions through the program's curriculum, in the site's zone.

A curriculum is the program's setting, module codes with week counts ("M2 DT6 M2 ER6 M2 IE6",
validated by intake). A group meets weekly on one weekday at one local wall time; each session
is one week of the curriculum: its module, the week within the module, and whether it is an
**entry point** (the first week of a mindfulness block, where new members may join). Sessions
keep their local wall time across daylight-saving changes: the UTC instant moves instead.

The calendar is a function of the group and the site's closures (``plan``): a closure either
cancels the session that day (``skip``: that curriculum week is lost) or moves that session and
every later one a week on (``shift``, the standard). Stored sessions are reconciled with the plan
(``services``), so a closure added later changes exactly the sessions it touches.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MODULES = ("M", "DT", "ER", "IE", "WMP")
SHIFT, SKIP = "shift", "skip"
# The longest curriculum text intake accepts; a longer one (from an event) is refused unread.
CURRICULUM_MAX = 200
CLOSURE_POLICIES = (SHIFT, SKIP)
SCHEDULED, RESCHEDULED, CANCELLED = "scheduled", "rescheduled", "cancelled"
_NAMESPACE = uuid.UUID("5b0c7d3e-1f2a-4d6b-9e8c-7a4f3b2d1c0e")


@dataclass(frozen=True)
class Week:
    """One week of the curriculum."""

    module: str
    module_week: int  # 1-based week within the module block
    is_entry_point: bool


def curriculum_weeks(curriculum: str) -> list[Week]:
    """The weeks of one pass through ``curriculum``. Mindfulness blocks written back to back
    count as one block (one entry point)."""
    if len(curriculum) > CURRICULUM_MAX:
        raise ValueError(f"a curriculum is at most {CURRICULUM_MAX} characters")
    weeks: list[Week] = []
    previous = None
    for number, token in enumerate(curriculum.split(), start=1):
        code = token.rstrip("0123456789").upper()
        digits = token[len(code) :]
        if code not in MODULES or not digits or int(digits) < 1:
            raise ValueError(f"block {number} is not a curriculum block")  # never the text
        count = int(digits)
        opens = code == "M" and previous != "M"
        weeks += [Week(code, n + 1, opens and n == 0) for n in range(count)]
        previous = code
    if not any(w.is_entry_point for w in weeks):
        raise ValueError("a curriculum needs a mindfulness block: nowhere to join otherwise")
    return weeks


def session_id(group_id: str, index: int) -> str:
    """The id of the group's ``index``-th session (0-based over every cycle): stable, so a
    recomputed calendar names the same sessions (and a calendar feed keeps its UIDs)."""
    return str(uuid.uuid5(_NAMESPACE, f"{group_id}/{index}"))


@dataclass(frozen=True)
class Slot:
    """One planned session."""

    index: int
    cycle: int  # 1-based
    week: Week
    date: date  # local
    status: str  # scheduled or cancelled (a skipped closure day)


def first_meeting(starts_on: date, weekday: str) -> date:
    """The first ``weekday`` on or after ``starts_on``."""
    return starts_on + timedelta(days=(WEEKDAYS.index(weekday) - starts_on.weekday()) % 7)


def plan(
    *,
    starts_on: date,
    weekday: str,
    curriculum: str,
    cycles: int,
    closures: set[date],
    policy: str = SHIFT,
) -> list[Slot]:
    """Every session of ``cycles`` passes through the curriculum, closures applied."""
    weeks = curriculum_weeks(curriculum)
    slots: list[Slot] = []
    day = first_meeting(starts_on, weekday)
    for index in range(len(weeks) * cycles):
        if policy == SHIFT:
            while day in closures:  # this and every later session move a week on
                day += timedelta(weeks=1)
            status = SCHEDULED
        else:
            status = CANCELLED if day in closures else SCHEDULED
        slots.append(Slot(index, index // len(weeks) + 1, weeks[index % len(weeks)], day, status))
        day += timedelta(weeks=1)
    return slots


def starts_at(day: date, local_start: str, zone: str) -> datetime:
    """The UTC instant of ``local_start`` (``HH:MM``) on ``day`` in ``zone``: the same wall time
    whatever daylight saving does. A wall time that does not exist that day (skipped by a
    spring-forward) takes the instant an hour later, as calendar apps do."""
    hour, minute = (int(part) for part in local_start.split(":"))
    local = datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(zone))
    instant = local.astimezone(UTC)
    if instant.astimezone(ZoneInfo(zone)).replace(tzinfo=None) != local.replace(tzinfo=None):
        instant = local.replace(fold=1).astimezone(UTC)
    return instant


def overlaps(a_start: datetime, a_minutes: int, b_start: datetime, b_minutes: int) -> bool:
    return a_start < b_start + timedelta(minutes=b_minutes) and b_start < a_start + timedelta(
        minutes=a_minutes
    )
