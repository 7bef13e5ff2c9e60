"""A recipient's notification preferences: which channels each kind of message uses.

The rules:

- Every purpose belongs to one category; a recipient chooses the channels, in order, per
  category (reminders, coaching, attendance, administrative).
- Safety messages (and anything sent ``at_once``) ignore those choices and use every channel
  the recipient has: no setting can silence the crisis route. So ``safety`` is a category no
  one may set.
- A recipient who replied STOP gets no SMS at all, safety included: the opt-out is the law.
  Email and the inbox still carry safety messages.
- Stored preferences win over the defaults key by key, and channels category by category, so
  a new category added later reaches everyone with its default. Only what the recipient (or
  their site's staff) named is stored: a change names some fields and keeps the others.
- The defaults follow what the client told intake: their preferred channel (SMS or email),
  their language, the site's time zone (``in_force``, from intake's contact answer).

The shape (all keys optional when stored)::

    {"channels": {"reminders": ["sms", "email"], ...}, "preferred_channel": "sms",
     "language": "en", "timezone": "America/Chicago",
     "quiet_hours": {"start": "22:00", "end": "07:00"} or None, "sms_opted_out": False}
"""

from __future__ import annotations

import copy
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from notifications.domain.texts import PURPOSES, SAFETY_PURPOSES
from notifications.domain.windows import CHANNELS, Window, parse_hhmm

CATEGORIES = ("reminders", "coaching", "attendance", "administrative", "safety")

PURPOSE_CATEGORY: dict[str, str] = {
    "session_reminder": "reminders",
    "session_rescheduled": "reminders",
    "session_cancelled": "reminders",
    "coaching_request": "coaching",
    "coaching_escalated": "coaching",
    "alliance_rupture": "coaching",
    "attendance_at_risk": "attendance",
    "client_discharged": "attendance",
    "welcome": "administrative",
    "facilitator_digest": "administrative",
    "coverage_gap": "administrative",
    "referral_received": "administrative",
    "coaching_risk": "safety",
    "risk_flagged": "safety",
}
if set(PURPOSE_CATEGORY) != set(PURPOSES):  # a purpose without a category could never be sent
    raise RuntimeError("PURPOSE_CATEGORY and texts.PURPOSES disagree")

# The categories a recipient may set; safety always uses every channel.
SETTABLE = tuple(category for category in CATEGORIES if category != "safety")

# A client is reached on the one channel they chose at intake; SMS or email, nothing else yet.
CLIENT_CHANNELS = ("email", "sms")

# Clinicians: coaching calls for the phone first, the rest belongs in the working day's inbox.
_CLINICIAN_CHANNELS = {
    "reminders": ["email"],
    "coaching": ["sms", "inbox"],
    "attendance": ["inbox", "email"],
    "administrative": ["inbox", "email"],
}


# What a recipient chooses (everything a stored preferences document may hold).
CHOICES = ("channels", "preferred_channel", "language", "timezone", "quiet_hours", "sms_opted_out")


def defaults(
    kind: str,
    *,
    preferred_channel: str | None = None,
    language: str = "en",
    timezone: str | None = None,
) -> dict:
    """The preferences a ``kind`` ("client" or "clinician") starts with; a fresh dict."""
    if kind == "client":
        preferred = preferred_channel if preferred_channel in CLIENT_CHANNELS else "email"
        channels = {category: [preferred] for category in SETTABLE}
    elif kind == "clinician":
        preferred = "email"
        channels = copy.deepcopy(_CLINICIAN_CHANNELS)
    else:
        raise ValueError(f"unknown recipient kind {kind!r}")
    return {
        "channels": channels,
        "preferred_channel": preferred,
        "language": language,
        "timezone": timezone,
        "quiet_hours": None,
        "sms_opted_out": False,
    }


def validate(prefs: dict) -> list[tuple[str, str]]:
    """What is wrong with ``prefs``, as (field path, message) pairs; empty when nothing is.

    Paths name the field as a client would: ``channels.reminders[1]``, ``quiet_hours.start``.
    Keys not described here are left to the caller.
    """
    if not isinstance(prefs, dict):
        return [("", "preferences must be an object")]
    errors: list[tuple[str, str]] = []
    if "channels" in prefs:
        errors += _channel_errors(prefs["channels"])
    preferred = prefs.get("preferred_channel")
    if preferred is not None and preferred not in CHANNELS:
        # No message repeats the value sent: a problem body echoes no input.
        errors.append(("preferred_channel", f"unknown channel; one of {', '.join(CHANNELS)}"))
    if prefs.get("quiet_hours") is not None:
        errors += _quiet_hours_errors(prefs["quiet_hours"])
    zone = prefs.get("timezone")
    if zone is not None and not _is_zone(zone):
        errors.append(("timezone", "unknown time zone; an IANA name such as America/Chicago"))
    language = prefs.get("language")
    if language is not None and not (
        isinstance(language, str)
        and language.isascii()
        and language.isalpha()
        and 2 <= len(language) <= 8
    ):
        errors.append(("language", "must be 2 to 8 letters"))
    if "sms_opted_out" in prefs and not isinstance(prefs["sms_opted_out"], bool):
        errors.append(("sms_opted_out", "must be true or false"))
    return errors


def merge(stored: dict | None, defaults_: dict) -> dict:
    """The preferences in force: ``stored`` wins key by key, channels category by category.

    A stored ``None`` means "not set" (the default stays), except for quiet_hours, where it
    is the recipient's choice of none. The result shares no list with either argument.
    """
    merged = copy.deepcopy(defaults_)
    for key, value in (stored or {}).items():
        if key == "channels":
            if isinstance(value, dict):  # anything else is not channels; the defaults stay
                merged["channels"] = {**merged.get("channels", {}), **copy.deepcopy(value)}
        elif value is not None or key == "quiet_hours":
            merged[key] = copy.deepcopy(value)
    return merged


def in_force(kind: str, stored: dict | None, contact: dict | None) -> dict:
    """The preferences in force for a recipient of ``kind``: what they chose (``stored``) over
    what they told intake (``contact``: ``preferred_channel``, ``language``, ``timezone``, as
    intake's contact answer gives them), over the platform's defaults. A fresh dict."""
    told = contact or {}
    language = told.get("language")
    return merge(
        stored,
        defaults(
            kind,
            preferred_channel=told.get("preferred_channel"),
            language=language if isinstance(language, str) and language else "en",
            timezone=told.get("timezone") or None,
        ),
    )


def changed(stored: dict | None, named: dict) -> dict:
    """The choices to store after a change that names some fields: each named field replaces
    the stored one (channels category by category, ``quiet_hours: None`` meaning none), every
    field not named keeps its stored value. Never the defaults: they follow intake."""
    kept = {key: value for key, value in (stored or {}).items() if key in CHOICES}
    return {key: value for key, value in merge(named, kept).items() if key in CHOICES}


def channels_for(
    purpose: str, prefs: dict, *, available: set[str], at_once: bool = False
) -> list[str]:
    """The channels to use, in order, among ``available`` (those the recipient has).

    Safety purposes and ``at_once``: every available channel (in ``CHANNELS`` order) whatever
    the preferences. Otherwise the category's chosen channels that are available. SMS is left
    out either way once the recipient opted out. ``KeyError`` for an unknown purpose.
    """
    category = PURPOSE_CATEGORY[purpose]
    if purpose in SAFETY_PURPOSES or category == "safety" or at_once:
        chosen: list[str] = list(CHANNELS)
    else:
        chosen = list((prefs.get("channels") or {}).get(category) or [])
    opted_out = prefs.get("sms_opted_out") is True
    result: list[str] = []
    for channel in chosen:
        usable = channel in available and channel in CHANNELS
        if usable and channel not in result and not (channel == "sms" and opted_out):
            result.append(channel)
    return result


def quiet_window(prefs: dict) -> Window | None:
    """The recipient's quiet hours as a ``Window`` (``None`` when unset or not valid: an
    unreadable setting holds nothing rather than everything)."""
    quiet = prefs.get("quiet_hours")
    if not isinstance(quiet, dict) or _quiet_hours_errors(quiet):
        return None
    return Window(quiet["start"], quiet["end"])


def _channel_errors(channels: object) -> list[tuple[str, str]]:
    if not isinstance(channels, dict):
        return [("channels", "must be an object of category: [channel, ...]")]
    errors: list[tuple[str, str]] = []
    for category, chosen in channels.items():
        path = f"channels.{category}"
        if category == "safety":
            errors.append((path, "safety messages use every channel; it cannot be set"))
            continue
        if category not in CATEGORIES:
            errors.append((path, "unknown category"))
            continue
        if not isinstance(chosen, list):
            errors.append((path, "must be a list of channels"))
            continue
        seen: set[str] = set()
        for index, channel in enumerate(chosen):
            if channel not in CHANNELS:
                errors.append((f"{path}[{index}]", "unknown channel"))
            elif channel in seen:
                errors.append((f"{path}[{index}]", "duplicate channel"))
            else:
                seen.add(channel)
    return errors


def _quiet_hours_errors(quiet: object) -> list[tuple[str, str]]:
    if not isinstance(quiet, dict):
        return [("quiet_hours", 'must be null or {"start": "HH:MM", "end": "HH:MM"}')]
    errors = [
        (f"quiet_hours.{key}", "unknown field") for key in quiet if key not in {"start", "end"}
    ]
    for key in ("start", "end"):
        try:
            parse_hhmm(quiet.get(key))
        except ValueError:
            errors.append((f"quiet_hours.{key}", "must be an HH:MM time"))
    if not errors and quiet["start"] == quiet["end"]:
        errors.append(("quiet_hours", "start and end must differ"))
    return errors


def _is_zone(name: object) -> bool:
    if not isinstance(name, str) or not name:
        return False
    try:
        ZoneInfo(name)
    # Each of these means "not a zone" to ZoneInfo (see windows.zone_of).
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True
