"""The on-call rota: who answers a coaching call, when, and where nobody does.

A site publishes **coaching hours**, weekly windows of local wall time (by default weekday
evenings and weekend days, when the therapist's office is shut). Within those hours two roles are
on call: the **primary** takes the call, the **backup** takes it when the primary does not answer.
Each role is staffed by a weekly layer of shifts (``Window`` with a clinician) and by one-off
**overrides** (a swap, a cover). A clinician on **time off** is never on call.

At any instant a role goes to the last override covering it whose clinician is not off, else to
the first weekly shift covering it whose clinician is not off, else nobody. A backup who is also
the primary at that instant is no backup at all: one phone, one person.

Weekly windows are wall times in the site's zone and are converted per local date, so a 17:00
shift stays 17:00 across daylight-saving changes and its UTC instant moves instead. A wall time
skipped by a spring-forward maps forward (02:30 becomes 03:30), as zoneinfo does with fold=0;
``24:00`` is midnight at the start of the next local day. ``coverage`` answers the timeline of
coaching hours in a UTC range as spans of the same people, and the **gaps**, stretches of coaching
hours with no primary or no backup, which a clinic lead must fill before they happen.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PRIMARY, BACKUP = "primary", "backup"
ROLES = (PRIMARY, BACKUP)
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class Window:
    """A weekly local-time window: coaching hours, or one clinician's shift."""

    weekday: str  # one of WEEKDAYS
    start: str  # "HH:MM"
    end: str  # "HH:MM", may be "24:00"; later than start (a shift past midnight is two windows)
    clinician_id: str | None = None  # None for coaching hours


@dataclass(frozen=True)
class Override:
    """A one-off: this clinician takes the role for [start, end) (aware UTC)."""

    clinician_id: str
    role: str  # PRIMARY or BACKUP
    start: datetime
    end: datetime


@dataclass(frozen=True)
class TimeOff:
    clinician_id: str
    start: datetime  # aware UTC
    end: datetime


@dataclass(frozen=True)
class Span:
    """A stretch of coaching hours with the same people on call."""

    start: datetime  # aware UTC
    end: datetime
    primary: str | None
    backup: str | None


@dataclass(frozen=True)
class Gap:
    start: datetime
    end: datetime
    missing: str  # PRIMARY or BACKUP


DEFAULT_HOURS: tuple[Window, ...] = (
    *(Window(day, "17:00", "24:00") for day in WEEKDAYS[:5]),
    *(Window(day, "10:00", "22:00") for day in WEEKDAYS[5:]),
)


def _minutes(text: object, *, end: bool) -> int | None:
    """Minutes since local midnight of ``HH:MM``; None when it is not one. Only an end may be
    ``24:00`` (a window that runs to midnight)."""
    if not isinstance(text, str):
        return None
    if end and text == "24:00":
        return 24 * 60
    match = _TIME.match(text)
    return int(match[1]) * 60 + int(match[2]) if match else None


def window_errors(windows: Sequence[Window]) -> list[tuple[int, str, str]]:
    """(index, field, message) for each bad window; empty when all are fine."""
    errors: list[tuple[int, str, str]] = []
    for index, window in enumerate(windows):
        if window.weekday not in WEEKDAYS:
            errors.append((index, "weekday", "One of " + ", ".join(WEEKDAYS) + "."))
        start = _minutes(window.start, end=False)
        end = _minutes(window.end, end=True)
        if start is None:
            errors.append((index, "start", "A time HH:MM, from 00:00 to 23:59."))
        if end is None:
            errors.append((index, "end", "A time HH:MM, from 00:00 to 24:00."))
        if start is not None and end is not None and end <= start:
            # No wrap past midnight: a night shift is written as two windows, so each window
            # belongs to exactly one local date.
            errors.append((index, "end", "Later than the start (split a shift past midnight)."))
    return errors


def wall_instant(day: date, hhmm: str, zone: str) -> datetime:
    """The UTC instant of wall time ``hhmm`` on local ``day``; ``24:00`` is the next midnight.
    A skipped wall time maps forward (fold=0); a repeated one is its first occurrence."""
    minutes = _minutes(hhmm, end=True)
    if minutes is None:
        raise ValueError(f"not a time HH:MM: {hhmm!r}")
    day += timedelta(days=minutes // (24 * 60))
    minutes %= 24 * 60
    local = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=ZoneInfo(zone))
    return local.astimezone(UTC)


def _utc(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"an aware datetime is needed, not {instant!r}")
    return instant.astimezone(UTC)


def weekly_intervals(
    windows: Iterable[Window], zone: str, start: datetime, end: datetime
) -> list[tuple[int, datetime, datetime]]:
    """(index of the window, UTC start, UTC end) of every occurrence of ``windows`` that
    overlaps [start, end), clipped to it."""
    windows = list(windows)
    errors = window_errors(windows)
    if errors:
        index, field, message = errors[0]
        raise ValueError(f"window {index} {field}: {message}")
    start, end = _utc(start), _utc(end)
    tz = ZoneInfo(zone)
    # A window lies within one local date; a day either side covers any zone offset.
    first = start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date() + timedelta(days=1)
    by_weekday: dict[int, list[int]] = {}
    for index, window in enumerate(windows):
        by_weekday.setdefault(WEEKDAYS.index(window.weekday), []).append(index)
    intervals: list[tuple[int, datetime, datetime]] = []
    day = first
    while day <= last:
        for index in by_weekday.get(day.weekday(), ()):
            window = windows[index]
            lo = max(wall_instant(day, window.start, zone), start)
            hi = min(wall_instant(day, window.end, zone), end)
            if lo < hi:  # also drops a window wholly inside a spring-forward hole
                intervals.append((index, lo, hi))
        day += timedelta(days=1)
    return intervals


@dataclass(frozen=True)
class _Segment:
    start: datetime
    end: datetime
    within_hours: bool
    primary: str | None
    backup: str | None


def _pick(
    overrides: Iterable[int],
    shifts: Iterable[int],
    override_list: Sequence[Override],
    shift_list: Sequence[Window],
    off: Counter,
) -> str | None:
    # Remove whoever is off, then: the last override in the list, else the first weekly shift.
    for index in sorted(overrides, reverse=True):
        clinician = override_list[index].clinician_id
        if clinician and off[clinician] <= 0:
            return clinician
    for index in sorted(shifts):
        clinician = shift_list[index].clinician_id
        if clinician and off[clinician] <= 0:
            return clinician
    return None


def _timeline(
    zone: str,
    hours: Sequence[Window],
    primary: Sequence[Window],
    backup: Sequence[Window],
    overrides: Sequence[Override],
    time_off: Sequence[TimeOff],
    start: datetime,
    end: datetime,
) -> list[_Segment]:
    """[start, end) cut at every point where anything starts or ends, each piece evaluated once.

    A sweep: every interval becomes a +1 at its start and a -1 at its end; between two
    consecutive points the active sets are constant, so one evaluation per piece is exact."""
    start, end = _utc(start), _utc(end)
    if end <= start:
        return []
    hours, primary, backup = list(hours), list(primary), list(backup)
    overrides, time_off = list(overrides), list(time_off)
    events: list[tuple[datetime, str, object, int]] = []

    def add(layer: str, key: object, lo: datetime, hi: datetime) -> None:
        lo, hi = max(_utc(lo), start), min(_utc(hi), end)
        if lo < hi:
            events.append((lo, layer, key, 1))
            events.append((hi, layer, key, -1))

    for _, lo, hi in weekly_intervals(hours, zone, start, end):
        add("hours", None, lo, hi)
    for index, lo, hi in weekly_intervals(primary, zone, start, end):
        add("shift_" + PRIMARY, index, lo, hi)
    for index, lo, hi in weekly_intervals(backup, zone, start, end):
        add("shift_" + BACKUP, index, lo, hi)
    for index, override in enumerate(overrides):
        if override.role in ROLES:
            add("override_" + override.role, index, override.start, override.end)
    for leave in time_off:
        add("off", leave.clinician_id, leave.start, leave.end)

    events.sort(key=lambda event: event[0])
    points = sorted({start, end, *(event[0] for event in events)})
    active: defaultdict[str, Counter] = defaultdict(Counter)  # layer -> key -> open intervals
    segments: list[_Segment] = []
    cursor = 0
    for lo, hi in itertools.pairwise(points):
        while cursor < len(events) and events[cursor][0] <= lo:
            _, layer, key, delta = events[cursor]
            active[layer][key] += delta
            cursor += 1
        if active["hours"][None] <= 0:
            segments.append(_Segment(lo, hi, False, None, None))
            continue
        off = active["off"]
        chosen = {}
        for role, shifts in ((PRIMARY, primary), (BACKUP, backup)):
            chosen[role] = _pick(
                (k for k, n in active["override_" + role].items() if n > 0),
                (k for k, n in active["shift_" + role].items() if n > 0),
                overrides,
                shifts,
                off,
            )
        if chosen[BACKUP] == chosen[PRIMARY]:
            chosen[BACKUP] = None  # the primary cannot back themselves up
        segments.append(_Segment(lo, hi, True, chosen[PRIMARY], chosen[BACKUP]))
    return segments


def coverage(
    zone: str,
    hours: Sequence[Window],
    primary: Sequence[Window],
    backup: Sequence[Window],
    overrides: Sequence[Override],
    time_off: Sequence[TimeOff],
    start: datetime,
    end: datetime,
) -> tuple[list[Span], list[Gap]]:
    """The coaching hours within [start, end) as spans of the same (primary, backup), in UTC
    order, and the gaps: maximal stretches of coaching hours without a primary, and separately
    without a backup, sorted by (start, missing)."""
    spans: list[Span] = []
    for segment in _timeline(zone, hours, primary, backup, overrides, time_off, start, end):
        if not segment.within_hours:
            continue
        last = spans[-1] if spans else None
        if (
            last is not None
            and last.end == segment.start
            and (last.primary, last.backup) == (segment.primary, segment.backup)
        ):
            spans[-1] = Span(last.start, segment.end, last.primary, last.backup)
        else:
            spans.append(Span(segment.start, segment.end, segment.primary, segment.backup))
    gaps: list[Gap] = []
    for role in ROLES:
        open_gap: Gap | None = None
        for span in spans:
            if getattr(span, role) is not None:
                continue
            if open_gap is not None and open_gap.end == span.start:
                open_gap = Gap(open_gap.start, span.end, role)
            else:
                if open_gap is not None:
                    gaps.append(open_gap)
                open_gap = Gap(span.start, span.end, role)
        if open_gap is not None:
            gaps.append(open_gap)
    gaps.sort(key=lambda gap: (gap.start, gap.missing))
    return spans, gaps


def on_call(
    zone: str,
    hours: Sequence[Window],
    primary: Sequence[Window],
    backup: Sequence[Window],
    overrides: Sequence[Override],
    time_off: Sequence[TimeOff],
    at: datetime,
) -> tuple[str | None, str | None, bool]:
    """(primary, backup, within_hours) at instant ``at``; outside coaching hours, (None, None,
    False)."""
    at = _utc(at)
    segments = _timeline(
        zone, hours, primary, backup, overrides, time_off, at, at + timedelta(microseconds=1)
    )
    segment = segments[0]
    return segment.primary, segment.backup, segment.within_hours
