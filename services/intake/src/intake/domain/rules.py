"""Intake's small validation rules (time zones, birth dates), free of Flask, Kafka, MongoDB."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones


def is_known_timezone(name: str) -> bool:
    if name not in available_timezones():
        return False
    try:
        ZoneInfo(name)
    except ZoneInfoNotFoundError:
        return False
    return True


def plausible_birth_date(born: date, today: date) -> bool:
    """Born in the past, and not more than 120 years ago."""
    return date(today.year - 120, 1, 1) <= born <= today
