"""Intake rules that need no database."""

from __future__ import annotations

from datetime import date

from intake.domain.rules import is_known_timezone, plausible_birth_date


def test_time_zones_must_be_iana_names():
    assert is_known_timezone("America/Chicago")
    assert is_known_timezone("Europe/Berlin")
    assert not is_known_timezone("CET+1")
    assert not is_known_timezone("Mars/Olympus")


def test_birth_dates_must_be_past_and_plausible():
    today = date(2026, 11, 25)
    assert plausible_birth_date(date(1994, 3, 17), today)
    assert not plausible_birth_date(date(2027, 1, 1), today)
    assert not plausible_birth_date(date(1890, 1, 1), today)
