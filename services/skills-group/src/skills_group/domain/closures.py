"""What a site's closure days do to one group's calendar: each closure that falls on a meeting
day either moves that session and every later one a week on (``shift``) or cancels it
(``skip``), as ``calendar.plan`` applies them. Named here so that a page can say, before and
after saving, which closure did what to which session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from skills_group.domain.calendar import SHIFT, curriculum_weeks, first_meeting

SHIFTED, SKIPPED = "shifted", "skipped"


@dataclass(frozen=True)
class Effect:
    closed_on: date
    effect: str  # shifted or skipped
    index: int  # the session (0-based over every cycle) that met the closure


def effects(
    *,
    starts_on: date,
    weekday: str,
    curriculum: str,
    cycles: int,
    closures: set[date],
    policy: str = SHIFT,
) -> list[Effect]:
    """The closures that met a session of this calendar, in date order (the same walk as
    ``calendar.plan``: the two agree by construction)."""
    found: list[Effect] = []
    day = first_meeting(starts_on, weekday)
    for index in range(len(curriculum_weeks(curriculum)) * cycles):
        if policy == SHIFT:
            while day in closures:
                found.append(Effect(day, SHIFTED, index))
                day += timedelta(weeks=1)
        elif day in closures:
            found.append(Effect(day, SKIPPED, index))
        day += timedelta(weeks=1)
    return found
