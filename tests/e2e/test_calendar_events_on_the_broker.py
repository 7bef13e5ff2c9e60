"""The calendar's and attendance's events on the real stack: a group scheduled through the api
puts one ``skills.group.scheduled`` with its whole calendar on ``dbt.skills.events`` (keyed by
the group, no name), notifications' worker consumes it (its dedup record, nothing
dead-lettered), and a saved attendance sheet puts ``skills.attendance.recorded`` with its counts
and no client on the topic.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from e2e_intake_clinic import zone_where_it_is
from pymongo import MongoClient
from test_sms_and_reminders import DAYS, admit, group_at, make_site

from dbt_shared.contracts import skills
from support import header, read_topic, wait_until

SOURCE = "/dbt-platform/skills-group"


def items(answer) -> list[dict]:
    body = answer.json()
    return body["items"] if isinstance(body, dict) else body


def test_a_scheduled_group_and_a_saved_sheet_cross_the_broker_to_notifications(platform, tokens):
    site = make_site(platform, tokens, zone_where_it_is(11), "Calendar Events")
    profile = site["profile"]
    # A group that met for ten weeks already, on a day the client is not free: placed by hand.
    starts = datetime.now(UTC) - timedelta(weeks=10) + timedelta(hours=1)
    group = group_at(site, starts, capacity=2)
    group_id = group["id"]
    sessions = items(site["skills"].get(f"/v1/groups/{group_id}/sessions"))
    assert len(sessions) == 48  # two passes through the standard 24-week curriculum

    def on_topic(type_: str, count: int):
        def found():
            mine = [
                r
                for r in read_topic(profile.kafka_bootstrap, skills.TOPIC.name)
                if r.key == group_id.encode() and header(r, "ce_type") == type_
            ]
            return mine if len(mine) >= count else None

        return wait_until(found, timeout=30, what=f"{count} {type_} on the skills topic")

    [scheduled] = on_topic(skills.GROUP_SCHEDULED, 1)
    calendar = json.loads(scheduled.value)["sessions"]
    assert [s["session_id"] for s in calendar] == [s["id"] for s in sessions]
    assert group["name"].encode() not in scheduled.value

    processed = MongoClient(profile.mongodb_uri)["dbt_notifications"]["processed_events"]
    mark = f"{SOURCE}#{header(scheduled, 'ce_id')}"
    wait_until(
        lambda: processed.find_one({"_id": mark}),
        timeout=30,
        what="notifications to consume the group's calendar",
    )
    dead = read_topic(profile.kafka_bootstrap, skills.TOPIC.dead_letter.name)
    assert not [r for r in dead if r.key == group_id.encode()], "nothing dead-lettered"

    # A client free on another weekday waits; a coordinator places them from the first session.
    other_day = DAYS[(DAYS.index(group["weekday"]) + 3) % 7]
    client_id, _phone = admit(site, other_day)
    first = sessions[0]
    placed = wait_until(
        lambda: (
            (
                r := site["skills"].post(
                    f"/v1/groups/{group_id}/enrollments",
                    json={"client_id": client_id, "from_session_id": first["id"]},
                )
            ).status_code
            == 201
            and r
        ),
        timeout=30,
        what="the admitted client to be placed by hand",
    )
    assert placed.status_code == 201, placed.text
    sheet = site["skills"].request(
        "PUT",
        f"/v1/sessions/{first['id']}/attendance",
        json={"records": [{"client_id": client_id, "status": "late", "minutes_late": 5}]},
    )
    assert sheet.status_code == 200, sheet.text
    [recorded] = on_topic(skills.ATTENDANCE_RECORDED, 1)
    assert header(recorded, "ce_subject") == f"sessions/{first['id']}"
    counts = json.loads(recorded.value)
    assert (counts["expected"], counts["late"], counts["present"]) == (1, 1, 0)
    assert client_id.encode() not in recorded.value, "no client in the event"
