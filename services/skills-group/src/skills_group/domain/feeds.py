"""Calendar feeds (RFC 5545): a group's or a facilitator's sessions for calendar apps.

One VEVENT per session with a stable UID (the session id), ``SEQUENCE`` raised on every change,
``STATUS:CANCELLED`` for cancelled sessions, module and week in the summary, the room as the
location, local times with the site's VTIMEZONE. Nothing about clients: no names, no counts.

Every text a person typed (a group's name, a room) goes out as an RFC 5545 TEXT value
(``text``): backslash, semicolon and comma escaped, a line break as ``\\n``, any other control
character dropped, and lines folded at 75 octets. Nothing typed can end a content line, so a
name cannot add a property or an event to the feed, whatever the schema let in before.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar

from dbt_shared.clock import aware

MODULE_NAMES = {
    "M": "Mindfulness",
    "DT": "Distress Tolerance",
    "ER": "Emotion Regulation",
    "IE": "Interpersonal Effectiveness",
    "WMP": "Walking the Middle Path",
}
PRODID = "-//DBT Platform//Skills groups//EN"


# Line breaks in any spelling (CRLF, CR, LF, and the Unicode ones some parsers honour).
_LINE_BREAK = re.compile("\r\n|[\r\n\v\f\x85\u2028\u2029]")
# Controls RFC 5545 TEXT does not allow (CONTROL: every C0 but HTAB, and DEL), and C1 ones; a
# line break is a newline by then, which TEXT writes escaped.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def text(value: str) -> icalendar.vText:
    """``value`` as an RFC 5545 TEXT: a line break becomes one newline and other controls go;
    ``vText`` then escapes ``\\``, ``;``, ``,`` and the newline (as ``\\n``), and the calendar
    folds its lines at 75 octets."""
    return icalendar.vText(_CONTROL.sub("", _LINE_BREAK.sub("\n", value)))


def secret_hash(secret: str) -> str:
    """What is stored of a feed's secret: its SHA-256 (the URL is the only copy of it)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def render(
    name: str,
    zone: str,
    groups: dict[str, dict[str, Any]],
    sessions: list[dict[str, Any]],
    now: datetime,
) -> bytes:
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", text(name))
    cal.add("x-wr-timezone", text(zone))
    tz = ZoneInfo(zone)
    for session in sessions:
        group = groups[session["group_id"]]
        start = aware(session["starts_at"]).astimezone(tz)
        event = icalendar.Event()
        event.add("uid", f"{session['_id']}@dbt-platform")
        event.add("dtstamp", now.astimezone(UTC))
        event.add("dtstart", start)
        event.add("dtend", start + timedelta(minutes=session["duration_minutes"]))
        module = MODULE_NAMES.get(session["module"], session["module"])
        event.add("summary", text(f"{group['name']}: {module}, week {session['module_week']}"))
        if session.get("room"):
            event.add("location", text(session["room"]))
        event.add("sequence", session["sequence"])
        event.add("status", "CANCELLED" if session["status"] == "cancelled" else "CONFIRMED")
        cal.add_component(event)
    cal.add_missing_timezones()
    return cal.to_ical()
