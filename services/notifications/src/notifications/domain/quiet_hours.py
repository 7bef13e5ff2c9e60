"""When a message may go out: each channel's local quiet hours, which safety messages ignore."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from notifications.domain.purposes import SAFETY_PURPOSES


@dataclass(frozen=True)
class QuietHours:
    """Local hours in which a channel stays silent, e.g. SMS 21:00-08:00 (may span midnight)."""

    start: time
    end: time

    def contains(self, local_time: time) -> bool:
        if self.start <= self.end:
            return self.start <= local_time < self.end
        return local_time >= self.start or local_time < self.end

    def ends_after(self, local: datetime) -> datetime:
        """The first local moment at or after ``local`` when these quiet hours are over."""
        end = local.replace(
            hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0, fold=0
        )
        return end if end >= local else end + timedelta(days=1)


# Local quiet hours per channel. Email has none yet; SMS will (08:00-21:00 only). Safety
# purposes pass through them whatever is configured here.
QUIET_HOURS: dict[str, QuietHours | None] = {"email": None}


def may_send_now(
    purpose: str, channel: str, local_time: time, quiet_hours: QuietHours | None
) -> bool:
    """Whether a ``purpose`` message may leave on ``channel`` at the recipient's ``local_time``.

    Safety messages always may: no quiet hour, limit or program setting blocks the crisis route.
    Everything else waits out the channel's quiet hours, if it has any.
    """
    if purpose in SAFETY_PURPOSES:
        return True
    return quiet_hours is None or not quiet_hours.contains(local_time)


def held_until(
    purpose: str, channel: str, now: datetime, zone: tzinfo, quiet_hours: QuietHours | None
) -> datetime | None:
    """When quiet hours let a ``purpose`` message on ``channel`` go (UTC), or ``None`` if it
    may go now; ``zone`` is the recipient site's time zone."""
    if quiet_hours is None:
        return None
    local = now.astimezone(zone)
    if may_send_now(purpose, channel, local.time(), quiet_hours):
        return None
    return quiet_hours.ends_after(local).astimezone(UTC)


def site_zone(timezone: str | None) -> ZoneInfo:
    """The site's time zone; UTC until the site is known (or if its zone is not a real one)."""
    try:
        return ZoneInfo(timezone) if timezone else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")
