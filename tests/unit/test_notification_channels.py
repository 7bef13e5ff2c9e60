"""Notification channels: when a message may leave (the SMS window, quiet hours, clock changes)
and a recipient's preferences. Its words and the SMS webhook helpers:
``test_notification_texts_and_sms``."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from notifications.domain.preferences import (
    CATEGORIES,
    PURPOSE_CATEGORY,
    channels_for,
    defaults,
    merge,
    quiet_window,
    validate,
)
from notifications.domain.texts import PURPOSES, SAFETY_PURPOSES
from notifications.domain.windows import (
    CHANNELS,
    HORIZON,
    SMS_WINDOW,
    Window,
    drop_held_reminder,
    parse_hhmm,
    send_at,
)

CHICAGO = "America/Chicago"
SMS = Window(*SMS_WINDOW)
NIGHT = Window("22:00", "07:00")  # a recipient's quiet hours


def chicago(year, month, day, hour, minute=0, fold=0):
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(CHICAGO), fold=fold)


def utc(year, month, day, hour, minute=0):
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def sms_at(now, *, quiet=None, window=SMS, zone=CHICAGO):
    return send_at("sms", now, zone, at_once=False, sms_window=window, quiet_hours=quiet)


# ---------------------------------------------------------------- windows


def test_an_sms_at_three_in_the_morning_waits_for_eight_local():
    held = sms_at(chicago(2026, 12, 8, 3))  # CST, UTC-6
    assert held == utc(2026, 12, 8, 14)
    assert held.tzinfo == UTC


def test_an_sms_inside_the_window_goes_now():
    assert sms_at(chicago(2026, 12, 8, 8)) is None
    assert sms_at(chicago(2026, 12, 8, 20, 59)) is None
    assert sms_at(chicago(2026, 12, 8, 21)) == utc(2026, 12, 9, 14)  # the window is [08:00, 21:00)


def test_at_once_messages_are_never_held():
    for channel in CHANNELS:
        now = chicago(2026, 12, 8, 3)
        assert (
            send_at(channel, now, CHICAGO, at_once=True, sms_window=SMS, quiet_hours=NIGHT) is None
        )


def test_email_is_held_only_by_the_recipients_quiet_hours():
    def email(now, quiet):
        return send_at("email", now, CHICAGO, at_once=False, sms_window=SMS, quiet_hours=quiet)

    assert email(chicago(2026, 12, 8, 3), None) is None  # the SMS window does not bind email
    assert email(chicago(2026, 12, 8, 3), NIGHT) == utc(2026, 12, 8, 13)  # 07:00 CST
    assert email(chicago(2026, 12, 8, 21, 30), NIGHT) is None  # outside SMS hours, not quiet
    assert email(chicago(2026, 12, 8, 23), NIGHT) == utc(2026, 12, 9, 13)


def test_the_inbox_is_never_held_it_makes_no_sound():
    for hour in (0, 3, 23):
        now = chicago(2026, 12, 8, hour)
        assert (
            send_at("inbox", now, CHICAGO, at_once=False, sms_window=SMS, quiet_hours=NIGHT) is None
        )


def test_an_sms_in_the_window_but_in_quiet_hours_waits_for_the_later_of_both():
    late_sleeper = Window("22:00", "09:30")
    assert sms_at(chicago(2026, 12, 8, 8, 15), quiet=late_sleeper) == utc(2026, 12, 8, 15, 30)
    assert sms_at(chicago(2026, 12, 8, 3), quiet=late_sleeper) == utc(2026, 12, 8, 15, 30)
    early_sleeper = Window("20:00", "06:00")  # quiet ends before the window opens: 08:00 wins
    assert sms_at(chicago(2026, 12, 8, 20, 30), quiet=early_sleeper) == utc(2026, 12, 9, 14)
    assert sms_at(chicago(2026, 12, 8, 12), quiet=late_sleeper) is None


def test_windows_spanning_midnight():
    assert (
        NIGHT.contains(time(23, 0)) and NIGHT.contains(time(0, 0)) and NIGHT.contains(time(6, 59))
    )
    assert not NIGHT.contains(time(7, 0)) and not NIGHT.contains(time(21, 59))
    assert NIGHT.next_open(chicago(2026, 12, 8, 12)) == chicago(2026, 12, 8, 22)
    assert NIGHT.next_open(chicago(2026, 12, 8, 23, 10)) == chicago(2026, 12, 8, 23, 10)
    night_shift = Window("20:00", "02:00")  # a site allowing SMS to its night staff
    assert sms_at(chicago(2026, 12, 8, 1, 30), window=night_shift) is None
    assert sms_at(chicago(2026, 12, 8, 3), window=night_shift) == utc(2026, 12, 9, 2)


def test_next_open_stays_in_the_zone_it_was_given():
    opened = SMS.next_open(chicago(2026, 12, 8, 3))
    assert opened == chicago(2026, 12, 8, 8) and opened.tzinfo == ZoneInfo(CHICAGO)
    with pytest.raises(ValueError):
        Window("09:00", "09:00").next_open(chicago(2026, 12, 8, 3))


def test_the_dst_days_move_the_utc_instant_not_the_local_hour():
    # Spring forward (8 March 2026): 08:00 is CDT (UTC-5), an hour earlier in UTC than on the 7th.
    assert sms_at(chicago(2026, 3, 7, 3)) == utc(2026, 3, 7, 14)
    assert sms_at(chicago(2026, 3, 8, 1, 30)) == utc(2026, 3, 8, 13)
    assert sms_at(chicago(2026, 3, 7, 22)) == utc(2026, 3, 8, 13)
    # Fall back (1 November 2026): 08:00 is CST again, UTC-6.
    assert sms_at(chicago(2026, 11, 1, 0, 30)) == utc(2026, 11, 1, 14)
    assert sms_at(chicago(2026, 11, 1, 1, 30, fold=1)) == utc(2026, 11, 1, 14)


def test_a_window_opening_in_the_skipped_hour_opens_when_the_clock_jumps():
    # 02:30 never happens on 8 March 2026; the clock goes 01:59 CST -> 03:00 CDT (08:00Z).
    opened = Window("02:30", "04:00").next_open(chicago(2026, 3, 8, 1, 45))
    assert opened.astimezone(UTC) == utc(2026, 3, 8, 8)
    # 1 November: 01:45 CDT is outside [00:00, 01:30) until the clock falls back to 01:00 CST.
    reopened = Window("00:00", "01:30").next_open(chicago(2026, 11, 1, 1, 45))
    assert reopened.astimezone(UTC) == utc(2026, 11, 1, 7)


def _minute_walk(now, zone, sms_window, quiet_hours):
    """The slow, obviously right answer: try every minute."""

    def allowed(moment):
        local = moment.astimezone(ZoneInfo(zone)).time()
        return sms_window.contains(local) and not (quiet_hours and quiet_hours.contains(local))

    if allowed(now):
        return None
    moment = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while moment <= now + HORIZON:
        if allowed(moment):
            return moment
        moment += timedelta(minutes=1)
    return now + HORIZON


# The day before each zone's clock changes in 2026 (Lord Howe moves by 30 minutes, St John's
# is 3:30 behind UTC): the two days that follow each hold a change.
CLOCK_CHANGES = {
    "America/Chicago": ((3, 7), (10, 31)),
    "Europe/London": ((3, 28), (10, 24)),
    "Australia/Lord_Howe": ((4, 4), (10, 3)),
    "America/St_Johns": ((3, 7), (10, 31)),
}


@pytest.mark.parametrize("zone", sorted(CLOCK_CHANGES))
def test_send_at_agrees_with_a_minute_by_minute_walk(zone):
    configs = [
        (SMS, NIGHT),
        (Window("01:30", "03:15"), Window("02:45", "08:00")),  # edges inside the changing hours
        (Window("02:10", "02:40"), None),  # a window the spring change skips altogether
    ]
    for month, day in CLOCK_CHANGES[zone]:
        for step in range(0, 48 * 60, 193):  # every 193 minutes over the two days
            now = datetime(2026, month, day, tzinfo=UTC) + timedelta(minutes=step, seconds=13)
            for window, quiet in configs:
                expected = _minute_walk(now, zone, window, quiet)
                assert sms_at(now, window=window, quiet=quiet, zone=zone) == expected, (
                    zone,
                    now,
                    window,
                    quiet,
                )


def test_an_unknown_zone_is_utc():
    now = utc(2026, 12, 8, 3)
    for zone in ("Mars/Base", "America", "", "../etc/passwd"):
        assert sms_at(now, zone=zone) == utc(2026, 12, 8, 8)


def test_an_sms_window_that_never_opens_holds_to_the_horizon_not_forever_and_not_now():
    now = utc(2026, 12, 8, 3)
    assert sms_at(now, window=Window("08:00", "08:00"), zone="UTC") == now + HORIZON
    assert sms_at(now, window=SMS, quiet=Window("07:00", "22:00"), zone="UTC") == now + HORIZON


def test_send_at_refuses_an_unknown_channel():
    with pytest.raises(ValueError):
        send_at(
            "fax", utc(2026, 12, 8, 3), CHICAGO, at_once=False, sms_window=SMS, quiet_hours=None
        )


def test_a_reminder_held_past_its_session_is_dropped():
    starts = utc(2026, 12, 9, 0)  # 18:00 CST
    assert not drop_held_reminder(utc(2026, 12, 8, 23, 45), starts)
    assert drop_held_reminder(starts, starts)
    assert drop_held_reminder(utc(2026, 12, 9, 14), starts)
    assert drop_held_reminder(chicago(2026, 12, 8, 18), starts)  # same instant, another zone


def test_parse_hhmm():
    assert parse_hhmm("08:00") == time(8, 0) and parse_hhmm("23:59") == time(23, 59)
    for bad in ("8:00", "24:00", "12:60", "1200", "12:0a", "", "\u0661\u0662:\u0660\u0660", None):
        with pytest.raises(ValueError):
            parse_hhmm(bad)
    with pytest.raises(ValueError):
        Window("25:00", "07:00")


# ---------------------------------------------------------------- preferences


def test_a_client_who_prefers_sms_gets_sms_for_everything_they_can_choose():
    prefs = defaults("client", preferred_channel="sms", timezone=CHICAGO)
    assert prefs == {
        "channels": {
            "reminders": ["sms"],
            "coaching": ["sms"],
            "attendance": ["sms"],
            "administrative": ["sms"],
        },
        "preferred_channel": "sms",
        "language": "en",
        "timezone": CHICAGO,
        "quiet_hours": None,
        "sms_opted_out": False,
    }
    assert defaults("client", preferred_channel="inbox")["preferred_channel"] == "email"
    assert defaults("client")["channels"]["reminders"] == ["email"]
    assert validate(prefs) == []


def test_clinician_defaults_put_coaching_on_the_phone():
    prefs = defaults("clinician")
    assert prefs["channels"] == {
        "reminders": ["email"],
        "coaching": ["sms", "inbox"],
        "attendance": ["inbox", "email"],
        "administrative": ["inbox", "email"],
    }
    assert prefs["preferred_channel"] == "email"
    prefs["channels"]["coaching"].append("email")  # a fresh copy each time
    assert defaults("clinician")["channels"]["coaching"] == ["sms", "inbox"]
    with pytest.raises(ValueError):
        defaults("visitor")


def test_every_purpose_has_a_category():
    assert set(PURPOSE_CATEGORY) == set(PURPOSES)
    assert set(PURPOSE_CATEGORY.values()) <= set(CATEGORIES)
    assert {p for p, c in PURPOSE_CATEGORY.items() if c == "safety"} == SAFETY_PURPOSES


def test_validation_errors_name_the_field():
    errors = validate(
        {
            "channels": {"reminders": ["sms", "fax", "sms"], "holidays": ["email"], "safety": []},
            "preferred_channel": "pager",
            "quiet_hours": {"start": "22:00", "end": "7am"},
            "timezone": "Mars/Base",
            "language": "english-uk",
            "sms_opted_out": "no",
        }
    )
    fields = dict(errors)
    assert "unknown channel" in fields["channels.reminders[1]"]
    assert "duplicate" in fields["channels.reminders[2]"]
    assert "unknown category" in fields["channels.holidays"]
    assert "channels.safety" in fields  # no one may silence safety messages
    assert {"preferred_channel", "quiet_hours.end", "timezone", "language"} <= set(fields)
    assert "sms_opted_out" in fields
    assert validate({"quiet_hours": {"start": "22:00", "end": "22:00"}}) == [
        ("quiet_hours", "start and end must differ")
    ]
    assert [field for field, _ in validate({"language": "e"})] == ["language"]
    assert validate({"quiet_hours": None, "timezone": "Europe/London", "language": "cy"}) == []


def test_merge_keeps_what_was_stored_and_fills_in_the_rest():
    stored = {
        "channels": {"coaching": ["inbox"]},
        "quiet_hours": {"start": "22:00", "end": "07:00"},
        "timezone": None,
    }
    base = defaults("clinician", timezone=CHICAGO)
    merged = merge(stored, base)
    assert merged["channels"]["coaching"] == ["inbox"]
    assert merged["channels"]["attendance"] == ["inbox", "email"]
    assert merged["quiet_hours"] == {"start": "22:00", "end": "07:00"}
    assert merged["timezone"] == CHICAGO  # a stored None is "not set"
    assert (
        merge({"quiet_hours": None}, {**base, "quiet_hours": stored["quiet_hours"]})["quiet_hours"]
        is None
    )  # except for quiet hours: none is a choice
    merged["channels"]["attendance"].append("sms")
    assert base["channels"]["attendance"] == ["inbox", "email"]
    assert merge(None, base) == base


def test_channels_follow_the_category_among_what_the_recipient_has():
    prefs = merge({"channels": {"reminders": ["sms", "email"]}}, defaults("client"))
    assert channels_for("session_reminder", prefs, available={"email", "sms"}) == ["sms", "email"]
    assert channels_for("session_reminder", prefs, available={"email"}) == ["email"]
    assert channels_for("welcome", prefs, available={"sms"}) == []
    opted_out = {**prefs, "sms_opted_out": True}
    assert channels_for("session_reminder", opted_out, available={"email", "sms"}) == ["email"]


def test_safety_messages_ignore_preferences_but_not_stop():
    prefs = {"channels": {"administrative": []}, "sms_opted_out": False}
    everything = {"email", "sms", "inbox"}
    for purpose in SAFETY_PURPOSES:
        assert channels_for(purpose, prefs, available=everything) == list(CHANNELS)
        stopped = {**prefs, "sms_opted_out": True}
        assert channels_for(purpose, stopped, available=everything) == ["email", "inbox"]
        assert channels_for(purpose, stopped, available={"sms"}) == []
    assert channels_for("coaching_request", {}, available={"sms", "inbox"}, at_once=True) == [
        "sms",
        "inbox",
    ]
    with pytest.raises(KeyError):
        channels_for("birthday", prefs, available=everything)


def test_quiet_window_reads_the_stored_quiet_hours():
    assert quiet_window({"quiet_hours": {"start": "22:00", "end": "07:00"}}) == NIGHT
    assert quiet_window({"quiet_hours": None}) is None
    assert quiet_window({"quiet_hours": {"start": "22:00", "end": "22:00"}}) is None
