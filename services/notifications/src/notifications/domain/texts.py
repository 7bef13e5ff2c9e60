"""The words of every notification, per purpose and channel.

The rules:

- Texts stay generic: a day, a time, a room, a count, a reference (an id). Never a name, a
  contact detail or clinical content; ``render`` reads only the arguments listed below, so
  anything else a caller passes (a name, say) cannot end up in a message.
- A missing argument leaves its phrase out; no text is ever sent with a placeholder in it.
- Email has a fixed subject per purpose (no argument ever reaches a mail header); SMS and
  inbox texts have none.
- SMS bodies end with ``STOP_LINE`` and fit two SMS segments (under 320 characters).
- Crisis and risk texts (a crisis coaching request, an escalated request, risk raised in
  coaching, a high-risk screening) carry ``EMERGENCY_ROUTE`` on every channel.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from notifications.domain.windows import CHANNELS


@dataclass(frozen=True)
class Text:
    subject: str  # for email; "" for sms and inbox
    body: str


PURPOSES: tuple[str, ...] = (
    "welcome",
    "session_reminder",
    "session_rescheduled",
    "session_cancelled",
    "facilitator_digest",
    "attendance_at_risk",
    "client_discharged",
    "coaching_request",
    "coaching_escalated",
    "coaching_risk",
    "coverage_gap",
    "alliance_rupture",
    "referral_received",
    "risk_flagged",
)

# Never suppressed by a recipient's preferences.
SAFETY_PURPOSES = frozenset({"risk_flagged", "coaching_risk"})

# Every crisis path shows the emergency route (domain handbook, "Phone coaching").
EMERGENCY_ROUTE = (
    "If someone is in immediate danger, call 988 (US Suicide & Crisis Lifeline) "
    "or the local emergency number."
)
STOP_LINE = "Reply STOP to opt out."

# Two concatenated GSM-7 segments carry 306 characters; a longer text costs a third segment and
# some handsets show it in pieces. Plain ASCII only ("..." not an ellipsis) keeps it GSM-7.
SMS_MAX = 306
# A reference is an id and a room a short label: anything longer is not what it claims to be.
_ARG_MAX = 40

_NO_DETAILS = "No client details are sent by email."
_CLINIC = "This message was sent by your DBT clinic."


@dataclass(frozen=True)
class _Parts:
    subject: str
    line: str  # the message itself: the SMS and inbox text, and the email's first paragraph
    more: str = ""  # the email's further paragraphs
    urgent: bool = False  # carries EMERGENCY_ROUTE


def render(purpose: str, channel: str, args: dict) -> Text:
    """The ``purpose`` text for ``channel``.

    ``args`` may hold: reference, day ("Tue 8 Dec"), time ("18:00"), room, previous_day,
    previous_time, count (expected attendees), sessions (a digest's ``{"time", "room",
    "count"}`` dicts), minutes, crisis (a coaching request's flag). Other keys are ignored.
    ``KeyError`` for an unknown purpose, ``ValueError`` for an unknown channel.
    """
    compose = _COMPOSERS[purpose]
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    parts = compose(args)
    if channel == "sms":
        tail = f"{EMERGENCY_ROUTE} {STOP_LINE}" if parts.urgent else STOP_LINE
        return Text("", _fit(parts.line, tail))
    if channel == "inbox":
        return Text("", f"{parts.line} {EMERGENCY_ROUTE}" if parts.urgent else parts.line)
    paragraphs = [parts.line, parts.more, EMERGENCY_ROUTE if parts.urgent else ""]
    return Text(parts.subject, "\n\n".join(p for p in paragraphs if p) + "\n")


def _fit(line: str, tail: str) -> str:
    """``line`` then ``tail``, the line cut short (never the tail) to fit ``SMS_MAX``."""
    room = SMS_MAX - len(tail) - 1
    if len(line) > room:
        line = line[: room - 3].rstrip() + "..."
    return f"{line} {tail}"


# ---------------------------------------------------------------- argument phrases


def _arg(args: dict, key: str) -> str:
    """One argument as plain text on one line, or "" when absent."""
    value = args.get(key)
    if value is None or isinstance(value, bool):
        return ""
    text = " ".join(str(value).split())  # no newline may split an SMS or forge a paragraph
    return text[:_ARG_MAX]


def _count(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    try:
        return max(int(value), 0)
    except ValueError:
        return None


def _when(day: str, at: str = "", room: str = "", *, at_word: str = "at") -> str:
    """ "on Tue 8 Dec at 18:00, room 2", or whichever of it is known ("" when none)."""
    phrase = " ".join(part for part in (day and f"on {day}", at and f"{at_word} {at}") if part)
    if room:
        phrase = f"{phrase}, room {room}" if phrase else f"in room {room}"
    return phrase


def _session(args: dict) -> str:
    return _when(_arg(args, "day"), _arg(args, "time"), _arg(args, "room"))


def _ref(args: dict) -> str:
    """ " ref 1a2b" to follow a noun ("Coaching request ref 1a2b"), or ""."""
    reference = _arg(args, "reference")
    return f" ref {reference}" if reference else ""


def _paren_ref(args: dict) -> str:
    """ " (ref 1a2b)" to follow a clause, or ""."""
    reference = _arg(args, "reference")
    return f" (ref {reference})" if reference else ""


def _sentence(*words: str) -> str:
    return " ".join(word for word in words if word) + "."


def _expected(count: int | None) -> str:
    return "" if count is None else f"{count} expected"


# ---------------------------------------------------------------- clients


def _welcome(args: dict) -> _Parts:
    when = _session(args)
    first = f"Your first session is {when.removeprefix('on ')}." if when else ""
    return _Parts(
        "Welcome to your DBT skills group",
        f"Welcome to your DBT skills group. {first}".strip(),
        _CLINIC,
    )


def _session_reminder(args: dict) -> _Parts:
    when = _session(args) or "coming up soon"
    return _Parts(
        "Reminder: your DBT skills group",
        f"Reminder: your DBT skills group is {when}.",
        _CLINIC,
    )


def _session_rescheduled(args: dict) -> _Parts:
    before = _when(_arg(args, "previous_day"), _arg(args, "previous_time"))
    after = _session(args)
    target = after.removeprefix("on ").removeprefix("at ").removeprefix("in ")
    return _Parts(
        "Your DBT skills group has moved",
        _sentence("Your DBT skills group", before, "has moved", target and f"to {target}"),
        _CLINIC,
    )


def _session_cancelled(args: dict) -> _Parts:
    return _Parts(
        "Your DBT skills group is cancelled",
        _sentence("Your DBT skills group", _session(args), "is cancelled"),
        f"Contact your clinic if you have questions. {_CLINIC}",
    )


# ---------------------------------------------------------------- clinicians


def _digest_item(item: dict) -> str:
    """One session of a digest: "18:00, room 2, 8 expected"."""
    room = _arg(item, "room")
    parts = (_arg(item, "time"), room and f"room {room}", _expected(_count(item.get("count"))))
    return ", ".join(part for part in parts if part)


def _facilitator_digest(args: dict) -> _Parts:
    sessions = args.get("sessions")
    if isinstance(sessions, list | tuple):
        items = [_digest_item(item) for item in sessions if isinstance(item, dict)]
        items = [item for item in items if item]
        heading = " ".join(
            part for part in ("Your skills groups", _when(_arg(args, "day"))) if part
        )
        line = (
            f"{heading}: {'; '.join(items)}."
            if items
            else _sentence("No skills groups", _when(_arg(args, "day")))
        )
    else:
        heading = " ".join(part for part in ("Your skills group", _session(args)) if part)
        expected = _expected(_count(args.get("count")))
        line = f"{heading}: {expected or 'details are in the DBT platform'}."
    return _Parts(
        "Your skills group digest", line, f"Open the DBT platform for rosters. {_NO_DETAILS}"
    )


def _attendance_at_risk(args: dict) -> _Parts:
    return _Parts(
        "Attendance at risk",
        f"Attendance alert{_ref(args)}: close to the missed-session limit. "
        "Review it in the DBT platform.",
        _NO_DETAILS,
    )


def _client_discharged(args: dict) -> _Parts:
    return _Parts(
        "Client discharged from a skills group",
        f"Discharge recorded{_paren_ref(args)}. Details are in the DBT platform.",
        _NO_DETAILS,
    )


def _coaching_request(args: dict) -> _Parts:
    if args.get("crisis") is True:
        return _Parts(
            "URGENT: crisis coaching request",
            f"CRISIS coaching request{_ref(args)}. Call back now.",
            f"Open the DBT platform to acknowledge it. {_NO_DETAILS}",
            urgent=True,
        )
    return _Parts(
        "Coaching request waiting",
        f"Coaching request{_ref(args)} waiting for you. Acknowledge in the DBT platform.",
        _NO_DETAILS,
    )


def _coaching_escalated(args: dict) -> _Parts:
    minutes = _count(args.get("minutes"))
    late = f" within {minutes} minutes" if minutes is not None else ""
    return _Parts(
        "URGENT: coaching request escalated to you",
        f"Coaching request{_ref(args)} was not acknowledged{late} and is escalated to you. "
        "Call back now.",
        f"Open the DBT platform to acknowledge it. {_NO_DETAILS}",
        urgent=True,
    )


def _coaching_risk(args: dict) -> _Parts:
    return _Parts(
        "URGENT: risk raised in a coaching contact",
        f"Risk raised in a coaching contact{_paren_ref(args)}. A clinician needs to respond now.",
        f"Open the DBT platform now. {_NO_DETAILS}",
        urgent=True,
    )


def _coverage_gap(args: dict) -> _Parts:
    when = _when(_arg(args, "day"), _arg(args, "time"), at_word="from")
    return _Parts(
        "Phone coaching coverage gap",
        _sentence("No clinician is on call for phone coaching", when)
        + " Arrange cover in the DBT platform.",
        _NO_DETAILS,
    )


def _alliance_rupture(args: dict) -> _Parts:
    return _Parts(
        "Possible alliance rupture noted",
        f"A possible alliance rupture was noted{_paren_ref(args)}. Review it in the DBT platform.",
        _NO_DETAILS,
    )


def _referral_received(args: dict) -> _Parts:
    return _Parts(
        "New referral received",
        f"A new referral was received for your site{_paren_ref(args)}.",
        f"Open the intake inbox of the DBT platform to review it. {_NO_DETAILS}",
    )


def _risk_flagged(args: dict) -> _Parts:
    return _Parts(
        "URGENT: high-risk screening needs a clinician now",
        f"URGENT: a screening showed high risk{_paren_ref(args)}. "
        "A clinician needs to respond now.",
        f"Open the DBT platform now to review the screening. {_NO_DETAILS}",
        urgent=True,
    )


_COMPOSERS: dict[str, Callable[[dict], _Parts]] = {
    "welcome": _welcome,
    "session_reminder": _session_reminder,
    "session_rescheduled": _session_rescheduled,
    "session_cancelled": _session_cancelled,
    "facilitator_digest": _facilitator_digest,
    "attendance_at_risk": _attendance_at_risk,
    "client_discharged": _client_discharged,
    "coaching_request": _coaching_request,
    "coaching_escalated": _coaching_escalated,
    "coaching_risk": _coaching_risk,
    "coverage_gap": _coverage_gap,
    "alliance_rupture": _alliance_rupture,
    "referral_received": _referral_received,
    "risk_flagged": _risk_flagged,
}
