"""A facilitator's group operations in skills-group: the calendar previewed before saving, the
roster's runs, attendance from two facilitators at once, members removed, moved and admitted by
hand, a site's closures listed and undone."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from test_skills_services import (
    COORDINATOR,
    FACILITATOR,
    NOW,
    OTHER_FACILITATOR,
    PAGE,
    SITE,
    admit,
    events_of,
    group_body,
    seeded,
)

from dbt_shared.clock import FixedClock
from dbt_shared.contracts import skills
from dbt_shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from dbt_shared.storage.memory_documents import InMemoryDocumentStore
from skills_group import services
from skills_group.app import create_app
from skills_group.services import rosters


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture
def c(clock):
    return seeded(clock, capacity=2)


def _miss(c, clock, group_id: str, week: int, client_id: str, who=FACILITATOR):
    session = services.list_sessions(group_id, {}, c, COORDINATOR)[week]
    clock._now = session["starts_at"] + timedelta(minutes=5)
    return services.record_attendance(
        session["_id"], {"records": [{"client_id": client_id, "status": "absent"}]}, c, who
    )


def test_the_preview_names_every_clash_and_closure_and_saves_nothing(c):
    services.create_group(group_body(room="Room 2", facilitator_ids=["ana", "zed"]), c, COORDINATOR)
    services.add_closure(SITE, {"date": date(2027, 1, 19), "reason": "Holiday"}, c, COORDINATOR)
    stored = len(c.repositories.sessions.documents)

    preview = rosters.preview_group(
        group_body(room="Room 2", facilitator_ids=["ana", "ben"], name="Second"), c, FACILITATOR
    )

    assert len(preview["sessions"]) == 24 and preview["sessions"][0]["is_entry_point"]
    kinds = {(x["kind"], x.get("facilitator_id")) for x in preview["conflicts"]}
    assert kinds == {("room", None), ("facilitator", "ana")}
    assert len(preview["conflicts"]) == 2 * 24  # every session clashes twice
    assert preview["closures"] == [
        {"date": "2027-01-19", "reason": "Holiday", "effect": "shifted", "index": 2}
    ]
    assert len(c.repositories.sessions.documents) == stored  # nothing written
    assert len(c.repositories.groups.documents) == 1


def test_the_roster_gives_each_members_run_and_marks_one_miss_from_the_limit(c, clock):
    group = services.create_group(group_body(), c, COORDINATOR)
    admit(c, "c1")
    admit(c, "c2")
    for week in range(3):
        _miss(c, clock, group["_id"], week, "c1")
    fourth = services.list_sessions(group["_id"], {}, c, COORDINATOR)[3]

    roster = {r["client_id"]: r for r in services.roster(fourth["_id"], c, FACILITATOR)}

    assert roster["c1"]["consecutive_misses"] == 3 and roster["c1"]["at_risk"] is True
    assert roster["c1"]["miss_limit"] == 4
    assert roster["c2"]["consecutive_misses"] == 0 and roster["c2"]["at_risk"] is False


class _RacingStore(InMemoryDocumentStore):
    """Attendance storage where another facilitator's record of the same member lands between
    this write's read and its insert (as two people at the door, one sheet)."""

    def __init__(self, other: dict) -> None:
        super().__init__("attendance record")
        self.other = other

    def insert(self, document, events=()):
        if self.other is not None:
            other, self.other = self.other, None
            super().insert(other)
        return super().insert(document, events)


def test_a_second_facilitator_on_the_same_member_at_once_is_kept_not_dropped(c, clock):
    group = services.create_group(group_body(), c, COORDINATOR)
    admit(c, "c1")
    session = services.list_sessions(group["_id"], {}, c, COORDINATOR)[0]
    clock._now = session["starts_at"] + timedelta(minutes=20)
    [enrollment] = services.list_enrollments(group["_id"], c, COORDINATOR)
    record_id = f"{session['_id']}:c1"
    earlier = {
        "_id": record_id,
        "session_id": session["_id"],
        "client_id": "c1",
        "enrollment_id": enrollment["_id"],
        "group_id": group["_id"],
        "index": 0,
        "status": "absent",
        "recorded_by": "subject-ben",
    }
    c.repositories.attendance = _RacingStore(earlier)

    answer = services.record_attendance(
        session["_id"],
        {"records": [{"client_id": "c1", "status": "late", "minutes_late": 10}]},
        c,
        FACILITATOR,
    )

    stored = c.repositories.attendance.get(record_id)
    assert stored["status"] == "late" and stored["recorded_by"] == "subject-ana"
    assert answer["members"] == [
        {"client_id": "c1", "consecutive_misses": 0, "at_risk": False, "status": "active"}
    ]


def test_removing_a_member_frees_the_seat_for_who_waits_and_keeps_the_reason_sealed(c, clock):
    group = services.create_group(group_body(), c, COORDINATOR)
    admit(c, "c1")
    admit(c, "c2")
    admit(c, "c3")  # capacity 2: waits
    [first, _second] = services.list_enrollments(group["_id"], c, COORDINATOR)
    with pytest.raises(Forbidden):
        rosters.remove_member(first["_id"], {"reason": "x"}, c, OTHER_FACILITATOR)

    ended = rosters.remove_member(first["_id"], {"reason": "In hospital"}, c, FACILITATOR)

    assert ended["status"] == "removed" and ended["end_note"] == "In hospital"
    stored = c.repositories.enrollments.get(first["_id"])
    assert "In hospital" not in str(stored)  # sealed at rest
    [gone] = events_of(c, skills.CLIENT_DISCHARGED)
    assert gone.data["reason"] == "removed" and "hospital" not in str(gone.data)
    assert {e["client_id"] for e in c.repositories.members(group["_id"])} == {"c2", "c3"}
    assert "enrollment.remove" in c.repositories.audit.actions()
    with pytest.raises(Conflict):
        rosters.remove_member(first["_id"], {"reason": "again"}, c, FACILITATOR)


def test_a_member_moved_to_another_group_names_the_membership_left(c, clock):
    tuesday = services.create_group(group_body(), c, COORDINATOR)
    thursday = services.create_group(
        group_body(weekday="thu", name="Thursday", room="Room 3", starts_on=date(2027, 1, 7)),
        c,
        COORDINATOR,
    )
    admit(c, "c1")
    [before] = services.list_enrollments(tuesday["_id"], c, COORDINATOR)

    moved = rosters.transfer_member(
        before["_id"], {"group_id": thursday["_id"], "reason": "Shifts changed"}, c, FACILITATOR
    )

    assert moved["group_id"] == thursday["_id"] and moved["status"] == "active"
    assert c.repositories.enrollments.get(before["_id"])["status"] == "transferred"
    created = [
        e for e in events_of(c, skills.ENROLLMENT_CREATED) if e.data["group_id"] == thursday["_id"]
    ]
    assert created[0].data["transferred_from_enrollment_id"] == before["_id"]
    with pytest.raises(InvalidInput):
        rosters.transfer_member(
            moved["_id"], {"group_id": thursday["_id"], "reason": "x"}, c, COORDINATOR
        )


def test_a_move_to_a_full_group_is_refused_and_changes_nothing(c):
    tuesday = services.create_group(group_body(), c, COORDINATOR)
    thursday = services.create_group(
        group_body(weekday="thu", name="Thursday", room="Room 3", starts_on=date(2027, 1, 7)),
        c,
        COORDINATOR,
    )
    thursdays = [{"weekday": "thu", "start": "17:00", "end": "22:00"}]
    admit(c, "t1", thursdays)
    admit(c, "t2", thursdays)
    admit(c, "c1")
    [before] = services.list_enrollments(tuesday["_id"], c, COORDINATOR)

    with pytest.raises(Conflict):
        rosters.transfer_member(
            before["_id"], {"group_id": thursday["_id"], "reason": "x"}, c, FACILITATOR
        )

    assert c.repositories.enrollments.get(before["_id"])["status"] == "active"


def test_a_facilitator_sees_who_waits_for_the_group_and_admits_one_to_a_free_seat(c):
    group = services.create_group(group_body(capacity=1), c, COORDINATOR)
    admit(c, "c1")
    admit(c, "c2")  # no seat: waits
    [first] = services.list_enrollments(group["_id"], c, COORDINATOR)
    services.change_group(group["_id"], {"capacity": 2}, c, COORDINATOR)  # places c2 itself
    rosters.remove_member(first["_id"], {"reason": "Left"}, c, FACILITATOR)
    admit(c, "c3")
    admit(c, "c4")  # full again: waits

    waiting, _ = rosters.group_waitlist(group["_id"], PAGE, c, FACILITATOR)
    assert [(w["client_id"], w["fits"]) for w in waiting] == [("c4", True)]
    with pytest.raises(Conflict):  # no free seat: refused, not over capacity
        services.enroll_by_hand(group["_id"], {"client_id": "c4"}, c, FACILITATOR)
    services.change_group(group["_id"], {"capacity": 3}, c, FACILITATOR)
    assert rosters.group_waitlist(group["_id"], PAGE, c, FACILITATOR) == ([], None)
    with pytest.raises(Forbidden):
        services.enroll_by_hand(group["_id"], {"client_id": "c4"}, c, OTHER_FACILITATOR)


def test_a_site_closure_says_what_it_did_to_a_group_and_undoing_it_moves_sessions_back(c):
    group = services.create_group(group_body(), c, COORDINATOR)
    services.add_closure(SITE, {"date": date(2027, 1, 19), "reason": "Holiday"}, c, COORDINATOR)
    services.add_closure(SITE, {"date": date(2027, 1, 20), "reason": "Training"}, c, COORDINATOR)

    listed = rosters.site_closures(SITE, {"group_id": group["_id"]}, c, FACILITATOR)
    assert [(x["date"], x["effect"]) for x in listed] == [
        ("2027-01-19", "shifted"),
        ("2027-01-20", None),  # a Wednesday: no session of this group
    ]
    third = services.list_sessions(group["_id"], {}, c, COORDINATOR)[2]
    assert listed[0]["session_id"] == third["_id"] and third["date"] == "2027-01-26"
    with pytest.raises(NotFound):
        rosters.remove_closure(SITE, date(2027, 1, 19), c, FACILITATOR)
    before = len(events_of(c, skills.SESSION_RESCHEDULED))

    undone = rosters.remove_closure(SITE, date(2027, 1, 19), c, COORDINATOR)

    assert undone["sessions_changed"] == 22
    assert services.list_sessions(group["_id"], {}, c, COORDINATOR)[2]["date"] == "2027-01-19"
    assert len(events_of(c, skills.SESSION_RESCHEDULED)) == before + 22
    assert [x["date"] for x in rosters.site_closures(SITE, {}, c, FACILITATOR)] == ["2027-01-20"]
    with pytest.raises(NotFound):
        rosters.remove_closure(SITE, date(2027, 1, 19), c, COORDINATOR)


# -- over HTTP -----------------------------------------------------------------------------------
@pytest.fixture
def http(api_env, c):
    return create_app(c).test_client()


def test_late_without_minutes_or_excused_without_a_reason_is_refused_at_the_field(
    http, auth, c, clock
):
    group = services.create_group(group_body(), c, COORDINATOR)
    admit(c, "c1")
    session = services.list_sessions(group["_id"], {}, c, COORDINATOR)[0]
    clock._now = session["starts_at"] + timedelta(minutes=5)
    who = auth("facilitator", SITE, sub="subject-ana")
    for record, field in (
        ({"client_id": "c1", "status": "late"}, "minutes_late"),
        ({"client_id": "c1", "status": "excused", "reason": " "}, "reason"),
    ):
        answer = http.put(
            f"/v1/sessions/{session['_id']}/attendance", json={"records": [record]}, headers=who
        )
        assert answer.status_code == 422
        assert [e["field"] for e in answer.json["errors"]] == [f"records[0].{field}"]
    assert c.repositories.attendance.documents == {}


def test_the_new_operations_answer_over_http_with_their_access_rules(http, auth, c):
    group = services.create_group(group_body(), c, COORDINATOR)
    admit(c, "c1")
    [enrollment] = services.list_enrollments(group["_id"], c, COORDINATOR)
    fiona = auth("facilitator", SITE, sub="subject-ana")
    body = {**group_body(name="Next"), "starts_on": "2027-06-01", "capacity": 6}
    preview = http.post("/v1/group-previews", json=body, headers=fiona)
    assert preview.status_code == 200 and preview.json["capacity"] == 6
    assert http.get(f"/v1/groups/{group['_id']}/waitlist", headers=fiona).status_code == 200
    assert http.get(f"/v1/sites/{SITE}/closures", headers=fiona).json["items"] == []
    stranger = auth("facilitator", "elsewhere", sub="subject-ana")
    refused = http.post(
        f"/v1/enrollments/{enrollment['_id']}/removal", json={"reason": "x"}, headers=stranger
    )
    assert refused.status_code == 404
    removed = http.post(
        f"/v1/enrollments/{enrollment['_id']}/removal", json={"reason": "Left"}, headers=fiona
    )
    assert removed.status_code == 200 and removed.json["status"] == "removed"
    missing = http.delete(f"/v1/sites/{SITE}/closures/2027-01-19", headers=fiona)
    assert missing.status_code == 403
