"""The longest wait as a kept figure: when each waiting referral was received, kept as counts.

A site's program's waitlist tally keeps, beside its count per waiting stage, a count per moment
of receipt of the referrals waiting now (``received_field``: one field per millisecond of receipt; a
referral adds 1 to its moment when it starts waiting and takes 1 away when it stops). The
oldest wait is the earliest moment whose count is above zero (``oldest_received``). Counts
only ever go up and down by one, so they are kept like every other tally (added up from each
writer's adjustments, recounted hourly), with no read of the waitlist and no "oldest" to keep
right when the oldest leaves. Its size is what waits now (moments left at zero until the
hourly recount drops them), never the site's history.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

#: Field name prefix of a moment of receipt (the tally's other fields are stage names, none of
#: them "at" and digits, and tags).
PREFIX = "at"
_FORMAT = "%Y%m%dT%H%M%S"
_LENGTH = len(PREFIX) + 18  # the moment to the second, "T" included, and its milliseconds


def received_field(received_at: datetime | str) -> str:
    """The field counting the referrals received at ``received_at``, to the millisecond (what
    stored date keeps: the moment written and the one read back name the same field). A naive
    moment is UTC, as stored dates come back."""
    if isinstance(received_at, str):  # event data and JSON carry ISO text
        received_at = datetime.fromisoformat(received_at)
    moment = received_at if received_at.tzinfo else received_at.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return f"{PREFIX}{moment.strftime(_FORMAT)}{moment.microsecond // 1000:03d}"


def received_at_of(name: str) -> datetime | None:
    """The moment a ``received_field`` names (``None`` for any other field)."""
    if not name.startswith(PREFIX) or len(name) != _LENGTH:
        return None
    try:
        moment = datetime.strptime(name[len(PREFIX) : -3], _FORMAT).replace(tzinfo=UTC)
        return moment.replace(microsecond=int(name[-3:]) * 1000)
    except ValueError:
        return None


def oldest_received(counts: Mapping[str, Any]) -> datetime | None:
    """The earliest moment of receipt with a referral still waiting (count above zero: a
    writer's decrement may be stored a moment before another's increment), ``None`` when
    nobody waits. The fields' names are fixed-width digits, so the earliest name is the
    earliest moment: one name is parsed, not each (a busy site waits for thousands, and the
    organisation's overview reads every site's: 130 ms of parsing for 20,000 waiting)."""
    names = [
        name
        for name, count in counts.items()
        if type(count) is int and count > 0 and len(name) == _LENGTH and name.startswith(PREFIX)
    ]  # (``type``: a flag, True, is no count)
    while names:
        earliest = min(names)
        moment = received_at_of(earliest)
        if moment is not None:
            return moment
        names.remove(earliest)  # digits that name no moment: the next one
    return None
