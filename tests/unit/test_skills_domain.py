"""Skills-group's rules: the module calendar, rolling admission, the four-miss rule."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest

from skills_group.domain import attendance, calendar, placement
from skills_group.domain.placement import Candidate, Seat

ADULT = "M2 DT6 M2 ER6 M2 IE6"


def test_an_adult_cycle_is_24_weeks_with_an_entry_point_at_each_mindfulness_block():
    weeks = calendar.curriculum_weeks(ADULT)
    assert len(weeks) == 24
    assert [i for i, w in enumerate(weeks) if w.is_entry_point] == [0, 8, 16]
    assert (weeks[2].module, weeks[2].module_week) == ("DT", 1)
    assert (weeks[23].module, weeks[23].module_week) == ("IE", 6)


def test_back_to_back_mindfulness_blocks_are_one_entry_point():
    weeks = calendar.curriculum_weeks("M1 M1 DT4 M1 WMP4")
    assert [i for i, w in enumerate(weeks) if w.is_entry_point] == [0, 6]


def test_two_cycles_meet_weekly_from_the_first_weekday_on_or_after_the_start():
    slots = calendar.plan(
        starts_on=date(2026, 12, 2), weekday="tue", curriculum=ADULT, cycles=2, closures=set()
    )
    assert len(slots) == 48
    assert slots[0].date == date(2026, 12, 8)  # the first Tuesday on or after Wednesday the 2nd
    assert slots[24].cycle == 2 and slots[24].week.is_entry_point
    assert all((b.date - a.date).days == 7 for a, b in itertools.pairwise(slots))


def test_a_closure_shifts_that_session_and_every_later_one_by_a_week():
    closed = date(2026, 12, 22)
    slots = calendar.plan(
        starts_on=date(2026, 12, 1), weekday="tue", curriculum=ADULT, cycles=2, closures={closed}
    )
    dates = [s.date for s in slots]
    assert closed not in dates
    assert dates[3] == date(2026, 12, 29) and (slots[3].week.module, slots[3].week.module_week) == (
        "DT",
        2,
    )
    assert dates[-1] == date(2026, 12, 1) + timedelta(weeks=48)  # 47 weeks on, plus the shift


def test_under_the_skip_policy_a_closure_cancels_its_session_and_its_week_is_lost():
    closed = date(2026, 12, 22)
    slots = calendar.plan(
        starts_on=date(2026, 12, 1),
        weekday="tue",
        curriculum=ADULT,
        cycles=1,
        closures={closed},
        policy=calendar.SKIP,
    )
    assert [s.status for s in slots if s.date == closed] == [calendar.CANCELLED]
    assert slots[-1].date == date(2026, 12, 1) + timedelta(weeks=23)  # nothing moved


def test_sessions_keep_their_wall_time_across_daylight_saving():
    before = calendar.starts_at(date(2026, 10, 27), "18:00", "Europe/Berlin")
    after = calendar.starts_at(date(2026, 11, 3), "18:00", "Europe/Berlin")
    assert before == datetime(2026, 10, 27, 17, 0, tzinfo=UTC)  # CET, after 25 Oct
    assert calendar.starts_at(date(2026, 10, 20), "18:00", "Europe/Berlin") == datetime(
        2026, 10, 20, 16, 0, tzinfo=UTC
    )  # CEST
    assert after == datetime(2026, 11, 3, 17, 0, tzinfo=UTC)
    chicago = calendar.starts_at(date(2027, 3, 16), "18:00", "America/Chicago")
    assert chicago == datetime(2027, 3, 16, 23, 0, tzinfo=UTC)  # CDT


def test_session_ids_are_stable_per_group_and_place():
    assert calendar.session_id("g1", 3) == calendar.session_id("g1", 3)
    assert calendar.session_id("g1", 3) != calendar.session_id("g2", 3)


@pytest.mark.parametrize(
    ("start", "duration", "fit"),
    [("18:00", 150, True), ("18:00", 361, False), ("16:59", 60, False), ("21:30", 150, True)],
)
def test_a_slot_fits_inside_a_window_of_the_clients_availability(start, duration, fit):
    availability = [{"weekday": "tue", "start": "17:00", "end": "24:00"}]
    assert placement.fits(availability, "tue", start, duration) is fit
    assert placement.fits(availability, "wed", "18:00", 60) is False


def test_a_seat_is_free_only_if_every_session_the_newcomer_attends_stays_within_capacity():
    seats = [Seat(0, 48), Seat(0, 48), Seat(16, 64)]
    assert placement.free_from(seats, 3, 8, 56) is False  # three hold seats from 16 on
    assert placement.free_from(seats, 3, 8, 16) is True
    assert placement.free_from(seats, 4, 8, 56) is True


def test_of_several_fits_the_earliest_start_wins_then_the_emptiest_group():
    at = datetime(2027, 1, 5, tzinfo=UTC)
    later = datetime(2027, 1, 12, tzinfo=UTC)
    picked = placement.choose(
        [
            Candidate("full", "s1", 8, at, 7),
            Candidate("empty", "s2", 8, at, 2),
            Candidate("soon", "s3", 0, later, 0),
        ]
    )
    assert picked is not None and picked.group_id == "empty"
    assert placement.choose([]) is None


def _records(*statuses: str, minutes_late: int = 0):
    return [
        (f"s{i}", {"status": s, "minutes_late": minutes_late if s == "late" else None})
        for i, s in enumerate(statuses)
    ]


def test_three_misses_put_a_client_at_risk_and_four_discharge():
    outcome = attendance.evaluate(
        _records("present", "absent", "absent", "absent", "absent", "present"), attendance.Rules()
    )
    assert outcome.at_risk_at == ["s3"]
    assert outcome.discharged_at == "s4"
    assert outcome.consecutive_misses == 4


def test_attending_breaks_the_run():
    outcome = attendance.evaluate(
        _records("absent", "absent", "present", "absent", "absent"), attendance.Rules()
    )
    assert outcome.discharged_at is None and outcome.consecutive_misses == 2
    assert outcome.attendance_rate == 0.2


def test_lateness_and_excused_absences_count_as_the_program_says():
    late = _records("late", "late", "late", "late", minutes_late=20)
    assert attendance.evaluate(late, attendance.Rules()).discharged_at == "s3"
    assert attendance.evaluate(late, attendance.Rules(late_minutes=30)).discharged_at is None
    excused = _records("excused", "excused", "excused", "excused")
    assert attendance.evaluate(excused, attendance.Rules()).discharged_at == "s3"
    lenient = attendance.Rules(excused_counts=False)
    assert attendance.evaluate(excused, lenient).consecutive_misses == 0
