"""Rolling admission: which group, and from which entry point, an admitted client joins.

A client fits a group when the group's weekly slot (weekday, start, duration) lies inside one of
the client's availability windows. A member holds a seat at every session from their first one
for ``cycles`` passes through the curriculum (or until they leave); a group has a free seat at
an entry point when, at that session and every later one the newcomer would attend, fewer
members than its capacity hold one. Of several fits the earliest start wins, then the emptiest
group. No fit: the client waits, in admission order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


def _minutes(hhmm: str) -> int:
    hour, minute = hhmm.split(":")
    return int(hour) * 60 + int(minute)


def fits(availability: Iterable[dict], weekday: str, local_start: str, duration: int) -> bool:
    """Whether the slot lies inside one window of ``availability`` (``24:00`` ends a day)."""
    start = _minutes(local_start)
    end = start + duration
    return any(
        w["weekday"] == weekday and _minutes(w["start"]) <= start and end <= _minutes(w["end"])
        for w in availability
    )


@dataclass(frozen=True)
class Seat:
    """A member's hold on a group's sessions: ``first`` to ``until`` (exclusive) by index."""

    first: int
    until: int


def occupancy(seats: Iterable[Seat], index: int) -> int:
    return sum(1 for s in seats if s.first <= index < s.until)


def free_from(seats: list[Seat], capacity: int, first: int, until: int) -> bool:
    """Whether a newcomer holding ``first`` to ``until`` keeps every session within capacity.
    Occupancy only changes where a seat starts, so those sessions are the ones to check."""
    starts = {first} | {s.first for s in seats if first < s.first < until}
    return all(occupancy(seats, index) < capacity for index in starts)


@dataclass(frozen=True)
class Candidate:
    """An entry point of a group where the client would fit and find a seat."""

    group_id: str
    session_id: str
    index: int
    starts_at: datetime
    occupancy: int


def choose(candidates: Iterable[Candidate]) -> Candidate | None:
    """The earliest start; of those, the emptiest group; then the group id, to be stable."""
    return min(candidates, key=lambda c: (c.starts_at, c.occupancy, c.group_id), default=None)
