"""Skills-group's use cases on in-memory components: what facilitators and coordinators see."""

from __future__ import annotations

import importlib
from datetime import UTC, date, datetime, timedelta

import icalendar
import pytest

from dbt_shared.auth import Principal
from dbt_shared.clock import FixedClock
from dbt_shared.contracts import skills
from dbt_shared.errors import Conflict, Forbidden, NotFound
from skills_group import bootstrap, services

SITE, OTHER_SITE = "site-a", "site-b"
PROGRAM = "site-a:adult"
NOW = datetime(2027, 1, 4, 12, 0, tzinfo=UTC)  # a Monday
COORDINATOR = Principal("coord", frozenset({"coordinator"}), frozenset({SITE}))
STRANGER = Principal("coord-b", frozenset({"coordinator"}), frozenset({OTHER_SITE}))
FACILITATOR = Principal("subject-ana", frozenset({"facilitator"}), frozenset({SITE}))
OTHER_FACILITATOR = Principal("subject-zed", frozenset({"facilitator"}), frozenset({SITE}))
EVENINGS = [{"weekday": "tue", "start": "17:00", "end": "22:00"}]
PAGE = {"limit": 50, "cursor": None}  # a list's query arguments as its schema loads them


@pytest.fixture
def clock():
    return FixedClock(NOW)


def seeded(clock, capacity: int = 2):
    """In-memory components with the read models intake's events would have left: two sites,
    the first one's adult program (``capacity`` seats a group) and three facilitators."""
    components = bootstrap.in_memory(clock)
    r = components.repositories
    r.sites.insert({"_id": SITE, "timezone": "America/Chicago"})
    r.sites.insert({"_id": OTHER_SITE, "timezone": "UTC"})
    settings = {
        "curriculum": "M2 DT6 M2 ER6 M2 IE6",
        "group_capacity": capacity,
        "consecutive_miss_limit": 4,
        "late_minutes_count_as_absence": 15,
        "prenotified_absences_count": True,
    }
    r.programs.insert({"_id": PROGRAM, "site_id": SITE, "kind": "adult", "settings": settings})
    for cid, subject in (("ana", "subject-ana"), ("ben", "subject-ben"), ("zed", "subject-zed")):
        services.on_clinician_registered(
            {"clinician_id": cid, "site_id": SITE, "subject": subject, "roles": ["facilitator"]},
            components,
        )
    return components


@pytest.fixture
def c(clock):
    return seeded(clock)


def group_body(**changes) -> dict:
    body = {
        "site_id": SITE,
        "program_id": PROGRAM,
        "name": "Tuesday evening",
        "weekday": "tue",
        "start_time": "18:00",
        "duration_minutes": 150,
        "room": "Room 2",
        "facilitator_ids": ["ana", "ben"],
        "starts_on": date(2027, 1, 5),
        "cycles": 1,
        "capacity": None,
    }
    return {**body, **changes}


def admit(c, client_id: str, availability=EVENINGS) -> None:
    services.on_client_admitted(
        {
            "client_id": client_id,
            "referral_id": client_id,
            "site_id": SITE,
            "program_id": PROGRAM,
            "program": "adult",
            "therapist_id": "ther-1",
            "availability": availability,
            "admitted_at": NOW,
        },
        c,
    )


def events_of(c, type_: str) -> list:
    stores = (c.repositories.enrollments, c.repositories.clients, c.repositories.sessions)
    return [e for store in stores for e in store.events if e.type == type_]


def test_a_group_gets_its_calendar_with_entry_points_and_the_programs_capacity(c):
    group = services.create_group(group_body(), c, COORDINATOR)

    assert group["capacity"] == 2 and group["co_leader_missing"] is False
    first = group["sessions"][0]
    assert (first["date"], first["local_start"], first["module"], first["is_entry_point"]) == (
        "2027-01-05",
        "18:00",
        "M",
        True,
    )
    assert first["starts_at"] == datetime(2027, 1, 6, 0, 0, tzinfo=UTC)  # 18:00 CST
    sessions = services.list_sessions(group["_id"], {}, c, COORDINATOR)
    assert len(sessions) == 24
    march = next(s for s in sessions if s["date"] == "2027-03-16")
    assert march["starts_at"] == datetime(2027, 3, 16, 23, 0, tzinfo=UTC)  # 18:00 CDT


def test_one_facilitator_is_allowed_but_reported(c):
    group = services.create_group(group_body(facilitator_ids=["ana"]), c, COORDINATOR)
    assert group["co_leader_missing"] is True


def test_the_same_room_or_facilitator_at_overlapping_times_is_refused_naming_the_session(c):
    first = services.create_group(group_body(), c, COORDINATOR)
    with pytest.raises(Conflict) as clash:
        services.create_group(
            group_body(name="Overlap", start_time="19:00", facilitator_ids=["zed"]), c, COORDINATOR
        )
    assert clash.value.members["conflicting_session_id"] == first["sessions"][0]["_id"]
    with pytest.raises(Conflict):
        services.create_group(group_body(room="Room 9", start_time="20:00"), c, COORDINATOR)
    services.create_group(
        group_body(room="Room 9", facilitator_ids=["zed"], start_time="18:00"), c, COORDINATOR
    )


def test_a_closure_shifts_that_session_and_every_later_one_each_saying_so(c):
    group = services.create_group(group_body(), c, COORDINATOR)
    before = services.list_sessions(group["_id"], {}, c, COORDINATOR)

    result = services.add_closure(
        SITE, {"date": date(2027, 1, 19), "reason": "Holiday"}, c, COORDINATOR
    )

    after = services.list_sessions(group["_id"], {}, c, COORDINATOR)
    assert result["sessions_changed"] == 22  # the 3rd session on
    assert "2027-01-19" not in [s["date"] for s in after]
    assert after[2]["date"] == "2027-01-26" and after[2]["sequence"] == before[2]["sequence"] + 1
    assert after[2]["status"] == "rescheduled" and after[2]["module"] == "DT"
    moved = events_of(c, skills.SESSION_RESCHEDULED)
    assert len(moved) == 22 and all("client" not in str(e.data) for e in moved)


def test_a_closure_leaves_the_site_groups_that_do_not_meet_that_day_unread_and_unchanged(c):
    tuesday = services.create_group(group_body(), c, COORDINATOR)
    thursdays = [
        services.create_group(
            group_body(name=f"Thursday {at}", weekday="thu", start_time=at), c, COORDINATOR
        )
        for at in ("09:00", "12:00", "15:00")
    ]
    before = {g["_id"]: services.list_sessions(g["_id"], {}, c, COORDINATOR) for g in thursdays}
    read = []
    calendar_of = c.repositories.calendar
    c.repositories.calendar = lambda group_id: read.append(group_id) or calendar_of(group_id)

    result = services.add_closure(
        SITE, {"date": date(2027, 1, 19), "reason": "Holiday"}, c, COORDINATOR
    )

    assert result["sessions_changed"] == 22  # the Tuesday group's 3rd session on
    assert read == [tuesday["_id"]]  # a site's groups accumulate; only the one met is read
    for group in thursdays:
        assert services.list_sessions(group["_id"], {}, c, COORDINATOR) == before[group["_id"]]


def test_an_admitted_client_is_placed_at_the_next_entry_point_with_a_seat(c, clock):
    group = services.create_group(group_body(starts_on=date(2026, 12, 1)), c, COORDINATOR)
    # the group already meets: its first mindfulness block has passed
    admit(c, "client-1")

    [enrollment] = services.list_enrollments(group["_id"], c, COORDINATOR)
    first = c.repositories.sessions.get(enrollment["first_session_id"])
    assert first["is_entry_point"] and first["date"] == "2027-01-26"  # week 9: M of block 2
    [created] = events_of(c, skills.ENROLLMENT_CREATED)
    assert created.data["client_id"] == "client-1"


def test_no_fit_waits_and_a_freed_seat_places_the_longest_waiting(c, clock):
    group = services.create_group(group_body(), c, COORDINATOR)
    admit(c, "c1")
    admit(c, "c2")
    admit(c, "c3")  # capacity 2: waits
    admit(c, "mornings", [{"weekday": "tue", "start": "08:00", "end": "12:00"}])

    waiting, _ = services.waitlist({"site_id": SITE, **PAGE}, c, COORDINATOR)
    assert [(w["client_id"], w["reason"]) for w in waiting] == [
        ("c3", "no_free_seat"),
        ("mornings", "no_group_fits_availability"),
    ]
    # c1 misses four sessions in a row: discharged, and c3 takes the seat
    for week in range(4):
        session = services.list_sessions(group["_id"], {}, c, COORDINATOR)[week]
        clock._now = session["starts_at"] + timedelta(minutes=5)
        services.record_attendance(
            session["_id"],
            {"records": [{"client_id": "c1", "status": "absent"}]},
            c,
            FACILITATOR,
        )
    assert [e.data["consecutive_misses"] for e in events_of(c, skills.ATTENDANCE_AT_RISK)] == [3]
    [gone] = events_of(c, skills.CLIENT_DISCHARGED)
    assert gone.data["reason"] == "consecutive_misses" and gone.data["client_id"] == "c1"
    members = {e["client_id"] for e in c.repositories.members(group["_id"])}
    assert members == {"c2", "c3"}


def test_capacity_is_never_exceeded_by_hand_placement(c):
    group = services.create_group(group_body(), c, COORDINATOR)
    admit(c, "c1")
    admit(c, "c2")
    admit(c, "c3")
    with pytest.raises(Conflict):
        services.enroll_by_hand(group["_id"], {"client_id": "c3"}, c, COORDINATOR)


def test_attendance_only_for_started_sessions_and_the_groups_own_facilitators(c, clock):
    group = services.create_group(group_body(), c, COORDINATOR)
    admit(c, "c1")
    first = services.list_sessions(group["_id"], {}, c, COORDINATOR)[0]
    body = {"records": [{"client_id": "c1", "status": "present"}]}
    with pytest.raises(Conflict):
        services.record_attendance(first["_id"], body, c, FACILITATOR)
    clock._now = first["starts_at"] + timedelta(minutes=1)
    with pytest.raises(Forbidden):
        services.record_attendance(first["_id"], body, c, OTHER_FACILITATOR)
    services.record_attendance(first["_id"], body, c, FACILITATOR)
    summary = services.client_attendance("c1", c, COORDINATOR)
    assert summary["attendance_rate"] == 1.0 and summary["consecutive_misses"] == 0
    assert "attendance.record" in c.repositories.audit.actions()


def test_another_sites_staff_see_nothing(c):
    group = services.create_group(group_body(), c, COORDINATOR)
    admit(c, "c1")
    with pytest.raises(NotFound):
        services.get_group(group["_id"], c, STRANGER)
    with pytest.raises(NotFound):
        services.list_enrollments(group["_id"], c, STRANGER)
    with pytest.raises(NotFound):
        services.client_attendance("c1", c, STRANGER)


def test_a_calendar_feed_is_valid_ics_shows_changes_and_no_client_data(c):
    group = services.create_group(group_body(), c, COORDINATOR)
    admit(c, "client-secret-name")
    feed = services.create_feed({"group_id": group["_id"]}, c, COORDINATOR)
    first = services.list_sessions(group["_id"], {}, c, COORDINATOR)[0]
    services.cancel_session(first["_id"], {"reason": "Snow"}, c, COORDINATOR)

    ics = services.feed_calendar(feed["secret"], c)

    cal = icalendar.Calendar.from_ical(ics)
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["America/Chicago"]
    vevents = cal.walk("VEVENT")
    assert len(vevents) == 24
    cancelled = next(e for e in vevents if str(e["UID"]).startswith(first["_id"]))
    assert str(cancelled["STATUS"]) == "CANCELLED" and int(cancelled["SEQUENCE"]) == 1
    assert cancelled.decoded("DTSTART").hour == 18  # local wall time, in the site's zone
    assert "Mindfulness, week 1" in str(cancelled["SUMMARY"])
    assert str(cancelled["LOCATION"]) == "Room 2"
    assert b"client" not in ics.lower()
    assert feed["secret"] not in str(c.repositories.feeds.documents)

    services.revoke_feed(feed["id"], c, COORDINATOR)
    with pytest.raises(NotFound):
        services.feed_calendar(feed["secret"], c)


def test_a_facilitators_feed_holds_the_sessions_of_their_groups(c):
    services.create_group(group_body(), c, COORDINATOR)
    services.create_group(
        group_body(name="Zed's", facilitator_ids=["zed"], room="Room 9"), c, COORDINATOR
    )
    feed = services.create_feed({"clinician_id": "zed"}, c, FACILITATOR)
    cal = icalendar.Calendar.from_ical(services.feed_calendar(feed["secret"], c))
    assert {str(e["SUMMARY"]).split(":")[0] for e in cal.walk("VEVENT")} == {"Zed's"}


def test_the_overview_counts_seats_fill_waitlist_and_risk_per_site_and_program(c, clock):
    group = services.create_group(group_body(), c, COORDINATOR)
    for client_id in ("c1", "c2", "c3"):
        admit(c, client_id)
    for week in range(3):
        session = services.list_sessions(group["_id"], {}, c, COORDINATOR)[week]
        clock._now = session["starts_at"] + timedelta(minutes=5)
        services.record_attendance(
            session["_id"],
            {
                "records": [
                    {"client_id": "c1", "status": "absent"},
                    {"client_id": "c2", "status": "present"},
                ]
            },
            c,
            FACILITATOR,
        )
    [row], _ = services.overview(PAGE, c, COORDINATOR)
    assert (row["site_id"], row["program_id"], row["groups"], row["seats"]) == (SITE, PROGRAM, 1, 2)
    assert row["waitlist"] == 1 and row["at_risk"] == 1
    assert row["attendance_rate_4w"] == 0.5
    assert services.overview(PAGE, c, STRANGER) == ([], None)


def test_the_overview_reads_no_calendar_of_a_group_that_ended_long_ago(c, clock, monkeypatch):
    ended = services.create_group(group_body(name="Last year's"), c, COORDINATOR)
    last = max(date.fromisoformat(s["date"]) for s in c.repositories.calendar(ended["_id"]))
    clock._now = datetime.combine(last, datetime.min.time(), UTC) + timedelta(weeks=13)
    running = services.create_group(
        group_body(name="This year's", starts_on=clock.now().date() + timedelta(days=7)),
        c,
        COORDINATOR,
    )
    admit(c, "c1")
    with monkeypatch.context() as full_walk:  # every group's calendar read, as before
        module = importlib.import_module("skills_group.services.overview")  # not the function
        full_walk.setattr(module, "ENDED_LONG_AGO", timedelta(weeks=10_000))
        before = services.overview(PAGE, c, COORDINATOR)
    read = []
    calendar_of = c.repositories.calendar
    c.repositories.calendar = lambda group_id: read.append(group_id) or calendar_of(group_id)

    [row], _ = services.overview(PAGE, c, COORDINATOR)

    assert read == [running["_id"]]  # a site's groups accumulate; the ended one is not walked
    assert ([row], None) == before  # and the figures are what the full walk gave
    assert (row["groups"], row["seats"], row["taken_at_next_entry"]) == (2, 4, 1)
