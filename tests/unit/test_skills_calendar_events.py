"""The handbook's calendar and attendance events: skills-group records ``skills.group.scheduled``
with a new group's whole calendar (one event, not one per session), ``skills.session.scheduled``
for a session added to a calendar later, and ``skills.attendance.recorded`` with each sheet it
saves (ids, instants and counts only), each once; notifications plans a newly scheduled
session's reminders from the event, without asking skills-group's calendar."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest

from dbt_shared.auth import Principal
from dbt_shared.clock import FixedClock
from dbt_shared.contracts import CATALOG, skills
from notifications import bootstrap as notifications_bootstrap
from notifications import handlers as notifications_handlers
from notifications.domain.deliveries import TransientFailure
from skills_group import bootstrap, events, services

SITE, PROGRAM = "site-a", "site-a:adult"
NOW = datetime(2027, 1, 4, 12, 0, tzinfo=UTC)  # a Monday; the group meets on Tuesdays
COORDINATOR = Principal("coord", frozenset({"coordinator"}), frozenset({SITE}))
FACILITATOR = Principal("subject-ana", frozenset({"facilitator"}), frozenset({SITE}))
GROUP_NAME, ROOM = "Tuesday evening", "Room 2"


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture
def c(clock):
    components = bootstrap.in_memory(clock)
    r = components.repositories
    r.sites.insert({"_id": SITE, "timezone": "America/Chicago"})
    settings = {"curriculum": "M2 DT6 M2 ER6 M2 IE6", "group_capacity": 3}
    r.programs.insert({"_id": PROGRAM, "site_id": SITE, "kind": "adult", "settings": settings})
    for cid, subject in (("ana", "subject-ana"), ("ben", "subject-ben")):
        services.on_clinician_registered(
            {"clinician_id": cid, "site_id": SITE, "subject": subject, "roles": ["facilitator"]},
            components,
        )
    return components


def create_group(c, cycles: int = 2) -> dict:
    body = {
        "site_id": SITE,
        "program_id": PROGRAM,
        "name": GROUP_NAME,
        "weekday": "tue",
        "start_time": "18:00",
        "duration_minutes": 150,
        "room": ROOM,
        "facilitator_ids": ["ana", "ben"],
        "starts_on": date(2027, 1, 5),
        "cycles": cycles,
        "capacity": None,
    }
    return services.create_group(body, c, COORDINATOR)


def recorded(c, type_: str) -> list:
    r = c.repositories
    stores = (r.groups, r.sessions, r.enrollments, r.clients, r.sheets)
    return [e for store in stores for e in store.events if e.type == type_]


def admit(c, client_id: str) -> None:
    services.on_client_admitted(
        {
            "client_id": client_id,
            "referral_id": client_id,
            "site_id": SITE,
            "program_id": PROGRAM,
            "program": "adult",
            "therapist_id": "ther-1",
            "availability": [{"weekday": "tue", "start": "17:00", "end": "22:00"}],
            "admitted_at": NOW,
        },
        c,
    )


# -- skills-group publishes ----------------------------------------------------------------------
def test_a_new_group_records_one_group_scheduled_with_its_whole_calendar(c):
    group = create_group(c)
    calendar = c.repositories.calendar(group["_id"])
    assert len(calendar) == 48  # two passes through a 24-week curriculum

    [scheduled] = recorded(c, skills.GROUP_SCHEDULED)
    assert scheduled.key == group["_id"]
    sessions = scheduled.data.pop("sessions")
    assert scheduled.data == {
        "group_id": group["_id"],
        "site_id": SITE,
        "program_id": PROGRAM,
        "weekday": "tue",
        "start_time": "18:00",
        "duration_minutes": 150,
        "capacity": 3,
        "cycles": 2,
        "room": ROOM,
        "facilitator_ids": ["ana", "ben"],
        "scheduled_at": NOW.isoformat(),
    }
    assert [s["session_id"] for s in sessions] == [s["_id"] for s in calendar]
    assert sessions[0] == {
        "session_id": calendar[0]["_id"],
        "starts_at": "2027-01-06T00:00:00+00:00",  # 18:00 in Chicago
        "status": "scheduled",
        "module": "M",
    }
    # One event for the calendar, not one per session (a group has some 48).
    assert recorded(c, skills.SESSION_SCHEDULED) == []
    scheduled.data["sessions"] = sessions
    CATALOG.validate(scheduled.type, scheduled.data)  # as the relay publishes it
    assert GROUP_NAME not in str(scheduled.data)


def test_a_session_written_back_to_a_calendar_records_session_scheduled(c):
    group = create_group(c, cycles=1)
    calendar = c.repositories.calendar(group["_id"])
    lost = calendar[5]
    del c.repositories.sessions.documents[lost["_id"]]  # a calendar missing a planned week
    # A closure later that group's plan changes: the group is brought in line with its plan.
    services.add_closure(SITE, {"date": date(2027, 3, 30), "reason": "Holiday"}, c, COORDINATOR)
    [added] = recorded(c, skills.SESSION_SCHEDULED)
    assert added.key == group["_id"]
    assert (added.data["session_id"], added.data["module"], added.data["sequence"]) == (
        lost["_id"],
        lost["module"],
        0,
    )
    assert added.data["room"] == ROOM and added.data["facilitator_ids"] == ["ana", "ben"]
    CATALOG.validate(added.type, added.data)


def test_each_saved_attendance_sheet_records_its_counts_and_no_client(c, clock):
    group = create_group(c)
    for client_id in ("client-ada", "client-bo", "client-cy"):
        admit(c, client_id)
    first = c.repositories.calendar(group["_id"])[0]
    clock._now = first["starts_at"] + timedelta(minutes=20)
    sheet = [
        {"client_id": "client-ada", "status": "present"},
        {"client_id": "client-bo", "status": "late", "minutes_late": 10},
    ]
    services.record_attendance(first["_id"], {"records": sheet}, c, FACILITATOR)
    [saved] = recorded(c, skills.ATTENDANCE_RECORDED)
    assert saved.key == group["_id"]
    assert saved.data == {
        "session_id": first["_id"],
        "group_id": group["_id"],
        "site_id": SITE,
        "expected": 3,
        "present": 1,
        "late": 1,
        "absent": 0,
        "excused": 0,
        "recorded_at": clock.now().isoformat(),
    }
    # The sheet completed later: a second event with the counts as they stand now.
    services.record_attendance(
        first["_id"], {"records": [{"client_id": "client-cy", "status": "absent"}]}, c, FACILITATOR
    )
    counts = [
        (e.data["present"], e.data["late"], e.data["absent"])
        for e in recorded(c, skills.ATTENDANCE_RECORDED)
    ]
    assert counts == [(1, 1, 0), (1, 1, 1)]
    for event in recorded(c, skills.ATTENDANCE_RECORDED):
        CATALOG.validate(event.type, event.data)
        assert not any(
            client in str(event.data) for client in ("client-ada", "client-bo", "client-cy")
        )


# -- notifications follows skills.session.scheduled ----------------------------------------------
class CalendarDown:
    """Skills-group's calendar not answering: what planned came from the event."""

    def sessions(self, group_id, first, last):
        raise TransientFailure("skills-group answered 503")


@pytest.fixture
def notifications(clock):
    n = notifications_bootstrap.in_memory(clock)
    n.repositories.site_zones.zones[SITE] = "America/Chicago"
    n.sessions = CalendarDown()
    return n


def member(n, group_id: str, client_id: str, first_starts: datetime) -> None:
    n.repositories.enrollments.insert(
        {
            "_id": f"e-{client_id}",
            "client_id": client_id,
            "group_id": group_id,
            "site_id": SITE,
            "status": "active",
            "first_session_starts_at": first_starts,
        }
    )


def consume(n, type_: str, events_) -> None:
    """Through notifications' handler map, as its worker's consumer hands a poll's batch."""
    handler = notifications_handlers.handlers(n)[type_]
    handler.batch([(e, CATALOG.load(e.type, e.data)) for e in events_], None)


def planned(n) -> list[dict]:
    found = n.repositories.deliveries.store.find({"purpose": "session_reminder"})
    return sorted(found, key=lambda d: d["due_at"])


def test_a_session_scheduled_in_the_next_days_gets_its_reminders_from_the_event(c, notifications):
    group = create_group(c)
    first = c.repositories.calendar(group["_id"])[0]  # tomorrow, 18:00 Chicago
    member(notifications, group["_id"], "c1", first["starts_at"])
    events_ = recorded(c, skills.GROUP_SCHEDULED)

    consume(notifications, skills.GROUP_SCHEDULED, events_)
    reminders_ = planned(notifications)
    assert [(d["session_id"], d["offset_minutes"]) for d in reminders_] == [
        (first["_id"], 24 * 60),
        (first["_id"], 120),
    ]
    assert {d["recipient_id"] for d in reminders_} == {"c1"}
    assert [d["due_at"] for d in reminders_] == [
        first["starts_at"] - timedelta(days=1),
        first["starts_at"] - timedelta(hours=2),
    ]
    assert all(d["status"] == "scheduled" for d in reminders_)
    assert reminders_[0]["text_args"]["room"] == ROOM

    consume(notifications, skills.GROUP_SCHEDULED, events_)  # redelivered: nothing twice
    assert len(planned(notifications)) == 2


def test_a_session_added_to_a_calendar_gets_its_reminders_from_its_event(c, notifications):
    group = create_group(c)
    first = c.repositories.calendar(group["_id"])[0]
    member(notifications, group["_id"], "c1", first["starts_at"])
    added = events.session_scheduled(first, c.clock)
    consume(notifications, skills.SESSION_SCHEDULED, [added, added])
    assert [d["offset_minutes"] for d in planned(notifications)] == [24 * 60, 120]


def test_a_session_beyond_the_plan_days_or_cancelled_waits_for_the_hourly_plan(c, notifications):
    group = create_group(c)
    calendar = c.repositories.calendar(group["_id"])
    member(notifications, group["_id"], "c1", calendar[0]["starts_at"])
    [scheduled] = recorded(c, skills.GROUP_SCHEDULED)
    sessions = [{**scheduled.data["sessions"][0], "status": "cancelled"}]
    sessions += scheduled.data["sessions"][1:]
    cancelled = dataclasses.replace(scheduled, data={**scheduled.data, "sessions": sessions})

    consume(notifications, skills.GROUP_SCHEDULED, [cancelled])
    assert planned(notifications) == []


def test_a_session_of_a_group_without_members_plans_nothing(c, notifications):
    create_group(c)
    consume(notifications, skills.GROUP_SCHEDULED, recorded(c, skills.GROUP_SCHEDULED))
    assert planned(notifications) == []
