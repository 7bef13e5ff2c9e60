"""When a message may leave: the site's SMS window and the recipient's own quiet hours.

The rules:

- ``at_once`` messages (safety messages to clinicians, crisis coaching, a coaching request to the
  clinician on call) are never held: no window or quiet hour stands between them and the phone.
- The inbox is never held. It makes no sound, so quiet hours have nothing to protect there.
- Email is held only by the recipient's quiet hours (a ``Window`` of local *quiet* time, e.g.
  22:00-07:00): a message inside them waits until they end.
- SMS must be inside the site's SMS window (a ``Window`` of *allowed* time, 08:00-21:00 by
  default) and outside the recipient's quiet hours; it waits for the earliest instant that
  satisfies both.
- Times are the recipient's local wall-clock times (zone an IANA name; an unknown one is UTC),
  worked out on real instants so that a DST day moves the UTC instant, not the local hour.
- A held session reminder that would only go out at or after its session's start is dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

CHANNELS = ("email", "sms", "inbox")

# The default site setting: SMS only between these local times.
SMS_WINDOW = ("08:00", "21:00")

# How far ahead a held message looks for its slot. Any real window opens within a day; two days
# cover a DST day and a window that spans midnight.
HORIZON = timedelta(days=2)


def parse_hhmm(text: str) -> time:
    """``"HH:MM"`` (24-hour, two digits each) as a time; ``ValueError`` for anything else."""
    if (
        not isinstance(text, str)
        or len(text) != 5
        or text[2] != ":"
        or not (text[:2].isdigit() and text[3:].isdigit())
        or not text.isascii()  # str.isdigit also accepts non-ASCII digits
    ):
        raise ValueError(f"not an HH:MM time: {text!r}")
    hour, minute = int(text[:2]), int(text[3:])
    if hour > 23 or minute > 59:
        raise ValueError(f"not an HH:MM time: {text!r}")
    return time(hour, minute)


@dataclass(frozen=True)
class Window:
    """A local daily window [start, end), e.g. 08:00-21:00; start > end spans midnight
    (22:00-07:00). start == end is an empty window: it never contains anything."""

    start: str
    end: str
    _times: tuple[time, time] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Parsed once, here: a bad time fails where the window is made, not at 03:00 when the
        # first SMS asks it.
        object.__setattr__(self, "_times", (parse_hhmm(self.start), parse_hhmm(self.end)))

    @property
    def empty(self) -> bool:
        return self.start == self.end

    def contains(self, local: time) -> bool:
        start, end = self._times
        local = local.replace(tzinfo=None)
        if start <= end:
            return start <= local < end
        return local >= start or local < end

    def next_open(self, local: datetime) -> datetime:
        """The first local moment at or after ``local`` inside the window (aware, same zone).

        ``ValueError`` for an empty window, or a naive ``local``."""
        if local.tzinfo is None:
            raise ValueError("next_open needs an aware datetime")
        if self.empty:
            raise ValueError(f"the window {self.start}-{self.end} never opens")
        found = _earliest(
            local.astimezone(UTC),
            local.tzinfo,
            lambda moment: self.contains(moment.time()),
            boundaries=(self.start, self.end),
        )
        if found is None:  # only a window that lies wholly in a DST gap, two days running
            raise ValueError(f"the window {self.start}-{self.end} does not open soon")
        return found.astimezone(local.tzinfo)


def send_at(
    channel: str,
    now: datetime,
    zone: str,
    *,
    at_once: bool,
    sms_window: Window | None,
    quiet_hours: Window | None,
) -> datetime | None:
    """``None``: the message may go now. Else the UTC instant it is held until.

    ``now`` is an aware instant (a naive one is taken as UTC); ``zone`` is the recipient's IANA
    zone. ``sms_window`` is when SMS is allowed (``None``: any time); ``quiet_hours`` is when
    the recipient wants no SMS or email (``None``: none). Should no instant in the next two days
    satisfy both (an empty SMS window, or one wholly inside quiet hours), the message is held
    to the end of that horizon and asked again then: a misconfiguration never sends a text in
    the night.
    """
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    if at_once or channel == "inbox":
        return None
    if channel == "email":
        sms_window = None  # the SMS window is the carrier-facing rule; email has none

    def allowed(local: datetime) -> bool:
        moment = local.time()
        inside = sms_window is None or sms_window.contains(moment)
        quiet = quiet_hours is not None and quiet_hours.contains(moment)
        return inside and not quiet

    now = _as_utc(now)
    zone_info = zone_of(zone)
    if allowed(now.astimezone(zone_info)):
        return None
    boundaries = tuple(
        hhmm
        for window in (sms_window, quiet_hours)
        if window
        for hhmm in (window.start, window.end)
    )
    found = _earliest(now, zone_info, allowed, boundaries=boundaries)
    return found if found is not None else now + HORIZON


def drop_held_reminder(held_until: datetime, session_starts_at: datetime) -> bool:
    """True when a held reminder would go out at or after its session's start: a reminder
    that arrives once the group has begun only tells the client they missed it."""
    return _as_utc(held_until) >= _as_utc(session_starts_at)


def zone_of(name: str | None) -> tzinfo:
    """The IANA zone ``name``; UTC when it is missing or not a real zone."""
    try:
        return ZoneInfo(name) if name else UTC
    # ZoneInfo raises all of these for names that are not zones: "Mars/Base" (not found),
    # "America" (a directory), "zone.tab" (not a TZif file), "../x" or "" (not a key).
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        return UTC


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _earliest(
    start: datetime,
    zone: tzinfo,
    allowed: Callable[[datetime], bool],
    *,
    boundaries: tuple[str, ...],
) -> datetime | None:
    """The first UTC instant in [start, start + HORIZON] whose local time in ``zone`` is
    ``allowed``, or ``None``.

    Whether a local time is allowed changes only where the wall clock reaches one of the
    ``boundaries`` (HH:MM) or jumps at a DST change, so those instants, and ``start``, are the
    only candidates to try, in order. A boundary wall time may happen twice (the autumn hour
    that repeats) or never (the spring hour that is skipped): both readings are tried, and when
    they differ the clock change between them too, since that is when the clock jumps into (or
    back into) a window.
    """
    end = start + HORIZON
    candidates = {start}
    # The local days the horizon touches, with one to spare on each side for zone offsets.
    first_day = start.astimezone(zone).date() - timedelta(days=1)
    for offset in range(5):
        day = first_day + timedelta(days=offset)
        for hhmm in boundaries:
            earlier, later = _readings(day, parse_hhmm(hhmm), zone)
            candidates.update((earlier, later))
            if earlier != later:
                candidates.add(_clock_change(earlier, later, zone))
    for candidate in sorted(moment for moment in candidates if start <= moment <= end):
        if allowed(candidate.astimezone(zone)):
            return candidate
    return None


def _readings(day: date, wall: time, zone: tzinfo) -> tuple[datetime, datetime]:
    """The two UTC instants a local wall time can mean (fold 0 and 1), earlier first; the same
    instant twice on an ordinary day."""
    naive = datetime.combine(day, wall)
    one, two = (naive.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1))
    return (one, two) if one <= two else (two, one)


def _clock_change(earlier: datetime, later: datetime, zone: tzinfo) -> datetime:
    """The first instant after ``earlier`` (and at most ``later``) with another UTC offset:
    the DST change between two readings of one wall time, found to the second."""
    low, high = int(earlier.timestamp()), int(later.timestamp())
    before = earlier.astimezone(zone).utcoffset()
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, UTC).astimezone(zone).utcoffset() == before:
            low = middle
        else:
            high = middle
    return datetime.fromtimestamp(high, UTC)
