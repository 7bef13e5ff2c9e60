"""Coaching's rules: the on-call rota and its gaps, diary cards, ruptures, clinician load."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest

from coaching.domain import diary, relationship, rota
from coaching.domain.rota import BACKUP, DEFAULT_HOURS, PRIMARY, Gap, Override, TimeOff, Window

NY = "America/New_York"
WEEKNIGHTS = ("mon", "tue", "wed", "thu", "fri")


def z(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def staffed(clinician: str, hours=DEFAULT_HOURS, skip: tuple[str, ...] = ()) -> list[Window]:
    """``clinician`` on every window of ``hours`` except the weekdays in ``skip``."""
    return [Window(h.weekday, h.start, h.end, clinician) for h in hours if h.weekday not in skip]


# --- rota ----------------------------------------------------------------------------------------


def test_default_hours_are_weekday_evenings_and_weekend_days():
    assert {(w.weekday, w.start, w.end) for w in DEFAULT_HOURS} == {
        *((day, "17:00", "24:00") for day in WEEKNIGHTS),
        ("sat", "10:00", "22:00"),
        ("sun", "10:00", "22:00"),
    }
    assert all(w.clinician_id is None for w in DEFAULT_HOURS)


def test_a_rota_with_a_tuesday_hole_reports_exactly_that_gap_in_utc():
    primary = staffed("alice", skip=("tue",))
    backup = staffed("carol")
    # Mon 2026-02-02 .. Mon 2026-02-09, New York on EST (UTC-5).
    spans, gaps = rota.coverage(
        NY, DEFAULT_HOURS, primary, backup, [], [], z(2026, 2, 2, 5), z(2026, 2, 9, 5)
    )
    assert gaps == [Gap(z(2026, 2, 3, 22), z(2026, 2, 4, 5), PRIMARY)]
    assert [(s.start, s.end) for s in spans][:3] == [
        (z(2026, 2, 2, 22), z(2026, 2, 3, 5)),
        (z(2026, 2, 3, 22), z(2026, 2, 4, 5)),
        (z(2026, 2, 4, 22), z(2026, 2, 5, 5)),
    ]
    assert (spans[1].primary, spans[1].backup) == (None, "carol")
    assert len(spans) == 7  # five evenings and two weekend days, nothing outside hours


def test_the_timeline_is_clipped_to_the_range_and_adjacent_spans_merge():
    hours = [Window("mon", "00:00", "24:00"), Window("tue", "00:00", "12:00")]
    primary = [Window("mon", "00:00", "24:00", "alice"), Window("tue", "00:00", "12:00", "alice")]
    spans, gaps = rota.coverage(
        "UTC", hours, primary, [], [], [], z(2026, 2, 2, 6), z(2026, 2, 3, 10)
    )
    assert [(s.start, s.end, s.primary, s.backup) for s in spans] == [
        (z(2026, 2, 2, 6), z(2026, 2, 3, 10), "alice", None)
    ]
    assert gaps == [Gap(z(2026, 2, 2, 6), z(2026, 2, 3, 10), BACKUP)]


def test_an_override_beats_the_weekly_layer_and_the_last_override_wins():
    primary, backup = staffed("alice"), staffed("carol")
    overrides = [
        Override("bob", PRIMARY, z(2026, 2, 2, 23), z(2026, 2, 3, 1)),
        Override("dan", PRIMARY, z(2026, 2, 3, 0), z(2026, 2, 3, 1)),
        Override("erin", BACKUP, z(2026, 2, 3, 3), z(2026, 2, 3, 9)),  # runs past the hours
    ]
    spans, gaps = rota.coverage(
        NY, DEFAULT_HOURS, primary, backup, overrides, [], z(2026, 2, 2, 12), z(2026, 2, 3, 12)
    )
    assert [(s.start.hour, s.end.hour, s.primary, s.backup) for s in spans] == [
        (22, 23, "alice", "carol"),
        (23, 0, "bob", "carol"),
        (0, 1, "dan", "carol"),
        (1, 3, "alice", "carol"),
        (3, 5, "alice", "erin"),  # an override does not extend coaching hours
    ]
    assert gaps == []


def test_time_off_removes_a_clinician_and_falls_through_to_the_weekly_layer():
    primary, backup = staffed("alice"), staffed("carol")
    overrides = [Override("bob", PRIMARY, z(2026, 2, 2, 22), z(2026, 2, 3, 5))]
    bob_off = TimeOff("bob", z(2026, 2, 2, 0), z(2026, 2, 3, 2))
    alice_off = TimeOff("alice", z(2026, 2, 3, 0), z(2026, 2, 3, 1))
    args = (NY, DEFAULT_HOURS, primary, backup, overrides, [bob_off, alice_off])
    assert rota.on_call(*args, z(2026, 2, 2, 23)) == ("alice", "carol", True)  # bob off: alice
    assert rota.on_call(*args, z(2026, 2, 3, 0, 30)) == (None, "carol", True)  # both off
    assert rota.on_call(*args, z(2026, 2, 3, 3)) == ("bob", "carol", True)  # bob back
    _, gaps = rota.coverage(*args, z(2026, 2, 2, 12), z(2026, 2, 3, 12))
    assert gaps == [Gap(z(2026, 2, 3, 0), z(2026, 2, 3, 1), PRIMARY)]


def test_a_backup_who_is_also_the_primary_is_a_missing_backup():
    primary = staffed("alice")
    backup = [Window("mon", "17:00", "20:00", "alice"), Window("mon", "17:00", "24:00", "carol")]
    _, gaps = rota.coverage(
        NY, DEFAULT_HOURS, primary, backup, [], [], z(2026, 2, 2, 12), z(2026, 2, 3, 12)
    )
    # The first backup window wins, and it names the primary: no backup until 20:00 local.
    assert gaps == [Gap(z(2026, 2, 2, 22), z(2026, 2, 3, 1), BACKUP)]
    assert rota.on_call(NY, DEFAULT_HOURS, primary, backup, [], [], z(2026, 2, 3, 2)) == (
        "alice",
        "carol",
        True,
    )


def test_a_17_to_24_window_keeps_its_local_time_across_the_march_change():
    spans, _ = rota.coverage(
        NY, DEFAULT_HOURS, staffed("alice"), [], [], [], z(2026, 3, 6, 12), z(2026, 3, 10, 12)
    )
    assert [(s.start, s.end) for s in spans] == [
        (z(2026, 3, 6, 22), z(2026, 3, 7, 5)),  # Friday, EST
        (z(2026, 3, 7, 15), z(2026, 3, 8, 3)),  # Saturday 10:00-22:00 EST
        (z(2026, 3, 8, 14), z(2026, 3, 9, 2)),  # Sunday, the change: 10:00-22:00 EDT
        (z(2026, 3, 9, 21), z(2026, 3, 10, 4)),  # Monday, EDT: an hour earlier in UTC
    ]


def test_a_17_to_24_window_keeps_its_local_time_across_the_november_change():
    spans, _ = rota.coverage(
        NY, DEFAULT_HOURS, staffed("alice"), [], [], [], z(2026, 10, 30, 12), z(2026, 11, 3, 12)
    )
    assert [(s.start, s.end) for s in spans] == [
        (z(2026, 10, 30, 21), z(2026, 10, 31, 4)),  # Friday, EDT
        (z(2026, 10, 31, 14), z(2026, 11, 1, 2)),  # Saturday, EDT
        (z(2026, 11, 1, 15), z(2026, 11, 2, 3)),  # Sunday, the change: EST
        (z(2026, 11, 2, 22), z(2026, 11, 3, 5)),  # Monday, EST
    ]


def test_a_wall_time_skipped_by_spring_forward_maps_forward():
    hours = [Window("sun", "02:30", "04:00")]
    spans, gaps = rota.coverage(NY, hours, [], [], [], [], z(2026, 3, 8), z(2026, 3, 9))
    assert [(s.start, s.end) for s in spans] == [(z(2026, 3, 8, 7, 30), z(2026, 3, 8, 8))]
    assert [g.missing for g in gaps] == [BACKUP, PRIMARY]  # sorted by (start, missing)


def test_on_call_inside_and_outside_coaching_hours():
    args = (NY, DEFAULT_HOURS, staffed("alice"), staffed("carol"), [], [])
    assert rota.on_call(*args, z(2026, 3, 10, 3, 59)) == ("alice", "carol", True)
    assert rota.on_call(*args, z(2026, 3, 10, 4)) == (None, None, False)  # midnight EDT: closed
    assert rota.on_call(*args, z(2026, 3, 10, 15)) == (None, None, False)  # Tuesday morning
    assert rota.on_call(NY, DEFAULT_HOURS, [], [], [], [], z(2026, 3, 10, 1)) == (None, None, True)


def test_window_errors_name_each_bad_field():
    windows = [
        Window("mon", "17:00", "24:00"),
        Window("monday", "17:00", "18:00"),
        Window("tue", "24:00", "24:00"),
        Window("wed", "9:00", "25:00"),
        Window("thu", "18:00", "17:00"),
        Window("fri", "18:00", "18:00"),
        Window("sat", "22:00", "02:00"),
    ]
    errors = rota.window_errors(windows)
    assert [(index, field) for index, field, _ in errors] == [
        (1, "weekday"),
        (2, "start"),
        (3, "start"),
        (3, "end"),
        (4, "end"),
        (5, "end"),
        (6, "end"),
    ]
    assert rota.window_errors(list(DEFAULT_HOURS)) == []
    with pytest.raises(ValueError):
        rota.coverage(NY, windows, [], [], [], [], z(2026, 3, 1), z(2026, 3, 2))


def test_a_month_of_a_busy_rota_is_ordered_and_finds_the_week_off():
    primary = staffed("alice", skip=("sat", "sun")) + staffed("bob", skip=WEEKNIGHTS)
    primary += [Window("sat", "10:00", "16:00", "dan"), Window("sun", "16:00", "22:00", "dan")]
    backup = [Window(w.weekday, "17:00", "20:00", "carol") for w in primary[:5]]
    backup += [Window(w.weekday, "20:00", "24:00", "erin") for w in primary[:5]]
    backup += [Window("sat", "10:00", "22:00", "alice"), Window("sun", "10:00", "22:00", "alice")]
    overrides = [
        Override("frank", PRIMARY, z(2026, 3, d, 23), z(2026, 3, d + 1, 1)) for d in range(1, 28, 3)
    ]
    time_off = [TimeOff("carol", z(2026, 3, 9), z(2026, 3, 16))]
    args = (NY, DEFAULT_HOURS, primary, backup, overrides, time_off, z(2026, 3, 1), z(2026, 4, 1))
    spans, gaps = rota.coverage(*args)
    assert all(a.end <= b.start for a, b in itertools.pairwise(spans))
    assert any(g.missing == BACKUP for g in gaps)  # carol's week off


# --- diary ---------------------------------------------------------------------------------------


def card(day: date, *, distress=None, urges=(), skills=(), emotions=None) -> dict:
    return {
        "date": day,
        "emotions": emotions or {},
        "urges": [{"target": t, "rating": r, "acted": a} for t, r, a in urges],
        "skills_used": list(skills),
        "distress": distress,
    }


@pytest.mark.parametrize(
    ("urges", "flags"),
    [
        ([("suicide", 4, False)], ["suicide_urge"]),
        ([("suicide", 3, False)], []),
        ([("self_harm", 1, True)], ["self_harm_acted"]),
        ([("self_harm", 5, False), ("substances", 5, True)], []),
        ([("suicide", 5, False), ("self_harm", 2, True)], ["self_harm_acted", "suicide_urge"]),
    ],
)
def test_risk_flags(urges, flags):
    c = card(date(2026, 3, 2), urges=urges)
    assert diary.risk_flags(c) == flags
    assert diary.suicide_urge_high(c) == ("suicide_urge" in flags)
    assert diary.self_harm_acted(c) == ("self_harm_acted" in flags)


def test_skills_belong_to_their_module():
    assert diary.module_of("tipp") == "distress_tolerance"
    assert diary.module_of("dear_man") == "interpersonal_effectiveness"
    assert diary.module_of("wise_mind") == "mindfulness"
    assert diary.module_of("juggling") is None


def test_parse_week():
    assert diary.parse_week("2026-W49") == (date(2026, 11, 30), date(2026, 12, 6))
    assert diary.parse_week("2026-W01") == (date(2025, 12, 29), date(2026, 1, 4))
    assert diary.parse_week("2026-W53") == (date(2026, 12, 28), date(2027, 1, 3))
    for bad in ("2026-49", "2026-W4", "2025-W53", "2026-W00", "W49-2026", ""):
        with pytest.raises(ValueError, match="week"):
            diary.parse_week(bad)


def test_the_weekly_summary():
    cards = [
        card(
            date(2026, 3, 2),
            distress=2,
            urges=[("suicide", 1, False)],
            skills=["tipp", "stop"],
            emotions={"sadness": 2, "anger": 1},
        ),
        card(date(2026, 3, 3), distress=9, urges=[("suicide", 5, False)]),  # replaced below
        card(
            date(2026, 3, 3),
            distress=4,
            urges=[("suicide", 2, False), ("self_harm", 3, True)],
            skills=["tipp", "dear_man", "juggling"],
            emotions={"sadness": 3},
        ),
        card(
            date(2026, 3, 5), distress=5, urges=[("self_harm", 1, False)], emotions={"sadness": 4}
        ),
        card(date(2026, 3, 8), distress=6, skills=["wise_mind", "tipp"]),
        card(date(2026, 3, 9), distress=10, urges=[("suicide", 5, True)]),  # next week
    ]
    week = diary.summary(cards, "2026-W10")
    assert (week["week"], week["from"], week["to"]) == ("2026-W10", "2026-03-02", "2026-03-08")
    assert week["days_filled"] == 4
    assert week["emotions"] == {"anger": 1.0, "sadness": 3.0}
    assert week["urges"] == {
        "suicide": {"average": 1.5, "max": 2, "days_acted": 0},
        "self_harm": {"average": 2.0, "max": 3, "days_acted": 1},
    }
    modules = week["skills_by_module"]
    assert modules["distress_tolerance"] == {"uses": 4, "skills": ["stop", "tipp"]}
    assert modules["interpersonal_effectiveness"] == {"uses": 1, "skills": ["dear_man"]}
    assert modules["mindfulness"] == {"uses": 1, "skills": ["wise_mind"]}
    assert modules["other"] == {"uses": 1, "skills": ["juggling"]}
    assert week["distress"] == [
        {"date": "2026-03-02", "distress": 2},
        {"date": "2026-03-03", "distress": 4},
        {"date": "2026-03-05", "distress": 5},
        {"date": "2026-03-08", "distress": 6},
    ]
    assert week["distress_trend"] == "rising"  # 3.0 then 5.5


@pytest.mark.parametrize(
    ("values", "trend"),
    [
        ([], None),
        ([7], None),
        ([3, 4], "rising"),
        ([6, 5], "falling"),
        ([5, 5, 6], "rising"),  # the middle day sits out: 5 against 6 is a whole point
        ([5, 9, 5], "steady"),
        ([8, 8, 2, 7, 7], "falling"),
        ([2, 2, 3, 2], "steady"),
    ],
)
def test_distress_trend(values, trend):
    cards = [card(date(2026, 3, 2) + timedelta(days=i), distress=v) for i, v in enumerate(values)]
    assert diary.summary(cards, "2026-W10")["distress_trend"] == trend


# --- relationship --------------------------------------------------------------------------------


def test_rating_errors():
    assert relationship.rating_errors([10, 9, 8, 0]) == []
    assert relationship.rating_errors([10, 9, 8]) == [("ratings", "Exactly four ratings.")]
    assert relationship.rating_errors("10,9,8,7") == [("ratings", "Exactly four ratings.")]
    assert relationship.rating_errors([10, 9, 11, 7]) == [
        ("ratings[2]", "An integer from 0 to 10.")
    ]
    assert [f for f, _ in relationship.rating_errors([1.5, True, -1, "7"])] == [
        "ratings[0]",
        "ratings[1]",
        "ratings[2]",
        "ratings[3]",
    ]
    assert relationship.total([10, 9, 8, 7]) == 34


def test_a_total_below_36_is_a_possible_rupture():
    assert relationship.rupture_reasons([9, 9, 9, 8], []) == ["below_threshold"]  # 35
    assert relationship.rupture_reasons([9, 9, 9, 9], []) == []  # 36
    assert relationship.rupture_reasons([2, 2, 2, 2], []) == ["below_threshold"]  # no baseline


def test_a_drop_of_five_from_the_mean_of_the_last_four_is_a_possible_rupture():
    # The oldest total (20) is outside the baseline of four: mean 40, and 35 is five below.
    assert relationship.rupture_reasons([9, 9, 9, 8], [20, 40, 40, 40, 40]) == [
        "below_threshold",
        "drop_from_baseline",
    ]
    # Four below is not a drop.
    assert relationship.rupture_reasons([9, 9, 9, 9], [40, 40, 40, 40]) == []
    # Baseline 39.5: 35 is 4.5 below.
    assert relationship.rupture_reasons([9, 9, 9, 8], [40, 40, 39, 39]) == ["below_threshold"]
    # Fewer than four previous totals still make a baseline.
    assert relationship.rupture_reasons([8, 8, 8, 8], [38]) == [
        "below_threshold",
        "drop_from_baseline",
    ]


def test_minutes_outside_business_hours():
    outside = relationship.minutes_outside_business_hours
    # Tuesday 16:40 EST for 45 minutes: 20 minutes in, 25 after 17:00.
    assert outside(z(2026, 3, 3, 21, 40), 45, NY) == 25
    # The same wall time after the change (EDT) is an hour earlier in UTC.
    assert outside(z(2026, 3, 10, 20, 40), 45, NY) == 25
    assert outside(z(2026, 3, 10, 21, 40), 45, NY) == 45  # 17:40 EDT: all after hours
    assert outside(z(2026, 3, 10, 15), 60, NY) == 0  # 11:00 EDT
    assert outside(z(2026, 3, 7, 15), 30, NY) == 30  # Saturday
    assert outside(z(2026, 3, 10, 12, 50), 20, NY) == 10  # 08:50 EDT, straddling 09:00


def test_weekly_load_buckets_by_the_local_week_a_contact_starts_in():
    contacts = [
        (z(2026, 2, 20, 23), 30),  # W08: before the three weeks asked for
        (z(2026, 2, 24, 22, 30), 20),  # W09 Tue 17:30 EST
        (z(2026, 3, 3, 21, 40), 45),  # W10 Tue 16:40 EST, 25 outside
        (z(2026, 3, 9, 3, 30), 40),  # Sunday 23:30 EDT Mar 8: W10, though Monday in UTC
        (z(2026, 3, 10, 14), 15),  # W11 Tue 10:00 EDT
    ]
    load = relationship.weekly_load(contacts, NY, 3, z(2026, 3, 11, 18))
    assert load == [
        {"week": "2026-W09", "contacts": 1, "minutes": 20, "outside_business_hours_minutes": 20},
        {"week": "2026-W10", "contacts": 2, "minutes": 85, "outside_business_hours_minutes": 65},
        {"week": "2026-W11", "contacts": 1, "minutes": 15, "outside_business_hours_minutes": 0},
    ]
    assert relationship.iso_week(date(2026, 12, 1)) == "2026-W49"
    assert relationship.iso_week(date(2027, 1, 1)) == "2026-W53"
