"""The therapeutic relationship: alliance check-ins, the flag of a rupture, and clinician load.

After a session the client rates the alliance on four items, 0-10 each (total out of 40). A total
below ``RUPTURE_TOTAL_BELOW`` is a possible rupture; so is a fall of ``RUPTURE_DROP`` points or
more below the client's own baseline, the mean of their previous ``BASELINE_COUNT`` totals, since
a client who always answers 40 and now answers 35 is telling the therapist something a fixed
threshold would only just catch. A rupture is for repair in the next session, not a verdict.

Coaching between sessions is work too, and much of it lands in the evening: ``weekly_load``
counts a clinician's coaching contacts per local ISO week and the minutes of them that fell
outside business hours (weekday office hours in the site's zone), so consultation team can see
who is carrying the phone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from coaching.domain.rota import Window, weekly_intervals

ITEMS = 4
ITEM_MAX = 10
TOTAL_MAX = ITEMS * ITEM_MAX  # 40
RUPTURE_TOTAL_BELOW = 36
RUPTURE_DROP = 5  # points below the client's own mean of their previous four totals
BASELINE_COUNT = 4
BELOW_THRESHOLD, DROP_FROM_BASELINE = "below_threshold", "drop_from_baseline"

BUSINESS_HOURS: tuple[tuple[str, str, str], ...] = tuple(
    (day, "09:00", "17:00") for day in ("mon", "tue", "wed", "thu", "fri")
)


def total(ratings: Sequence[int]) -> int:
    return sum(ratings)


def rating_errors(ratings: object) -> list[tuple[str, str]]:
    """(field, message) for each problem; empty when ``ratings`` is four integers 0..10."""
    if not isinstance(ratings, list | tuple) or len(ratings) != ITEMS:
        return [("ratings", "Exactly four ratings.")]
    return [
        (f"ratings[{index}]", f"An integer from 0 to {ITEM_MAX}.")
        for index, rating in enumerate(ratings)
        # bool is an int to Python; a checkbox is not a rating.
        if isinstance(rating, bool) or not isinstance(rating, int) or not 0 <= rating <= ITEM_MAX
    ]


def baseline(previous_totals: Sequence[int]) -> float | None:
    """The client's own baseline: the mean of their previous ``BASELINE_COUNT`` totals (None
    before the first check-in)."""
    last = list(previous_totals)[-BASELINE_COUNT:]
    return round(sum(last) / len(last), 1) if last else None


def rupture_reasons(ratings: Sequence[int], previous_totals: Sequence[int]) -> list[str]:
    """Why this check-in may be a rupture: [] or from ["below_threshold", "drop_from_baseline"].
    ``previous_totals``: the client's earlier totals, oldest first."""
    score = total(ratings)
    reasons = []
    if score < RUPTURE_TOTAL_BELOW:
        reasons.append(BELOW_THRESHOLD)
    baseline = list(previous_totals)[-BASELINE_COUNT:]
    # score <= mean(baseline) - RUPTURE_DROP, kept in integers so no float rounding decides it
    if baseline and score * len(baseline) <= sum(baseline) - RUPTURE_DROP * len(baseline):
        reasons.append(DROP_FROM_BASELINE)
    return reasons


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def _in_utc(instant: datetime) -> datetime:
    """An aware instant in UTC; a naive one is a caller's mistake here, not a stored date."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"an aware datetime is needed, not {instant!r}")
    return instant.astimezone(UTC)


def _business_windows(business_hours: Iterable[tuple[str, str, str]]) -> list[Window]:
    return [Window(day, start, end) for day, start, end in business_hours]


def _outside_seconds(start: datetime, minutes: int, zone: str, windows: Sequence[Window]) -> float:
    end = start + timedelta(minutes=max(minutes, 0))
    if end <= start:
        return 0.0
    # weekly_intervals clips each local occurrence to [start, end), so the sum is the overlap.
    inside = sum(
        (hi - lo).total_seconds() for _, lo, hi in weekly_intervals(windows, zone, start, end)
    )
    return (end - start).total_seconds() - inside


def minutes_outside_business_hours(
    start: datetime,
    minutes: int,
    zone: str,
    business_hours: Iterable[tuple[str, str, str]] = BUSINESS_HOURS,
) -> int:
    """How many of the ``minutes`` of a contact starting at ``start`` (aware) fall outside
    business hours in ``zone``'s wall time, daylight saving included."""
    start = _in_utc(start)
    return round(_outside_seconds(start, minutes, zone, _business_windows(business_hours)) / 60)


def weekly_load(
    contacts: Iterable[tuple[datetime, int]],
    zone: str,
    weeks: int,
    now: datetime,
    business_hours: Iterable[tuple[str, str, str]] = BUSINESS_HOURS,
) -> list[dict]:
    """The last ``weeks`` local ISO weeks, ending with the week containing ``now``, oldest
    first: contacts, minutes and minutes outside business hours in each. A contact belongs to
    the local week it starts in (a Sunday-night call running past midnight stays in its week)."""
    tz = ZoneInfo(zone)
    windows = _business_windows(business_hours)
    today = _in_utc(now).astimezone(tz).date()
    this_monday = today - timedelta(days=today.weekday())
    labels = [
        iso_week(this_monday - timedelta(weeks=back)) for back in range(max(weeks, 0) - 1, -1, -1)
    ]
    buckets = {
        label: {"week": label, "contacts": 0, "minutes": 0, "outside_business_hours_minutes": 0}
        for label in labels
    }
    outside_seconds = dict.fromkeys(labels, 0.0)
    for start, minutes in contacts:
        start = _in_utc(start)
        label = iso_week(start.astimezone(tz).date())
        if label not in buckets:
            continue
        buckets[label]["contacts"] += 1
        buckets[label]["minutes"] += minutes
        outside_seconds[label] += _outside_seconds(start, minutes, zone, windows)
    for label in labels:
        # Summed in seconds, rounded once: many short calls do not each round away a fraction.
        buckets[label]["outside_business_hours_minutes"] = round(outside_seconds[label] / 60)
    return [buckets[label] for label in labels]
