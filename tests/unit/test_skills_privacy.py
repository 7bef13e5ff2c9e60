"""Skills-group's privacy at rest and at its edges: sealed attendance reasons, calendar feeds
that cannot be injected into, that their owners and operators list and revoke, and that stop
when their clinician is deactivated."""

from __future__ import annotations

import json
from datetime import timedelta

import icalendar
import pytest
from test_skills_services import COORDINATOR, FACILITATOR, NOW, SITE, admit, group_body, seeded

from dbt_shared.clock import FixedClock
from skills_group import services
from skills_group.app import create_app


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture
def c(clock):
    return seeded(clock, capacity=8)


@pytest.fixture
def client(api_env, c):
    return create_app(c).test_client()


# -- attendance reasons at rest ------------------------------------------------------------------
def test_an_attendance_reason_is_sealed_at_rest_and_shown_to_the_groups_staff(
    client, auth, c, clock
):
    group = services.create_group(group_body(), c, COORDINATOR)
    admit(c, "c1")
    first = services.list_sessions(group["_id"], {}, c, COORDINATOR)[0]
    clock._now = first["starts_at"] + timedelta(minutes=1)
    reason = "Inpatient after an overdose"
    facilitator = auth("facilitator", SITE, sub=FACILITATOR.subject)

    recorded = client.put(
        f"/v1/sessions/{first['_id']}/attendance",
        json={"records": [{"client_id": "c1", "status": "excused", "reason": reason}]},
        headers=facilitator,
    )

    assert recorded.status_code == 200, recorded.json
    assert recorded.json["records"][0]["reason"] == reason
    stored = json.dumps(list(c.repositories.attendance.documents.values()), default=str)
    assert "overdose" not in stored and "Inpatient" not in stored
    (kept,) = c.repositories.attendance.documents.values()
    assert kept["reason"].startswith("enc:v1:")
    shown = client.get("/v1/clients/c1/attendance", headers=auth("coordinator", SITE))
    assert shown.status_code == 200 and shown.json["sessions"][0]["reason"] == reason


# -- calendar feeds ------------------------------------------------------------------------------
def feed_path(feed: dict) -> str:
    return feed["url"].split("localhost", 1)[1]


def test_a_group_name_with_line_breaks_is_escaped_in_its_feed_not_a_500(client, auth, c):
    group = services.create_group(group_body(cycles=1), c, COORDINATOR)
    # as stored before names were refused control characters at the schema
    injected = "Tue\r\nEND:VEVENT\r\nBEGIN:VEVENT\rSUMMARY:pwned\n; a,b\\c\x1b" + "x" * 80
    c.repositories.groups.save({**c.repositories.groups.get(group["_id"]), "name": injected})
    feed = client.post(
        "/v1/calendar-feeds", json={"group_id": group["_id"]}, headers=auth("coordinator", SITE)
    ).json

    answer = client.get(feed_path(feed))

    assert answer.status_code == 200
    body = answer.data
    lines = body.split(b"\r\n")
    assert lines[-1] == b"" and all(b"\r" not in ln and b"\n" not in ln for ln in lines)
    assert all(len(ln) <= 75 for ln in lines), "lines are folded at 75 octets"
    assert lines.count(b"BEGIN:VEVENT") == 24 and not any(
        ln.startswith(b"SUMMARY:pwned") for ln in lines
    )
    cal = icalendar.Calendar.from_ical(body)
    expected = "Tue\nEND:VEVENT\nBEGIN:VEVENT\nSUMMARY:pwned\n; a,b\\c" + "x" * 80
    # an X- property is read back as written: the escaped TEXT
    escaped = r"Tue\nEND:VEVENT\nBEGIN:VEVENT\nSUMMARY:pwned\n\; a\,b\\c" + "x" * 80
    assert str(cal["X-WR-CALNAME"]) == escaped
    assert str(cal.walk("VEVENT")[0]["SUMMARY"]).startswith(expected + ": Mindfulness")
    assert b"\\;" in body and b"\\," in body and b"\\\\c" in body and b"\\n" in body


def test_feeds_are_listed_and_revoked_by_their_maker_and_an_operator_only(client, auth, c):
    group = services.create_group(group_body(), c, COORDINATOR)
    ana = auth("facilitator", SITE, sub="subject-ana")
    zed = auth("facilitator", SITE, sub="subject-zed")
    operator = auth("operator", [], sub="op")
    mine = client.post("/v1/calendar-feeds", json={"group_id": group["_id"]}, headers=ana).json
    theirs = client.post("/v1/calendar-feeds", json={"clinician_id": "zed"}, headers=zed).json

    listed = client.get("/v1/calendar-feeds", headers=ana)
    assert listed.status_code == 200
    assert [f["id"] for f in listed.json["items"]] == [mine["id"]]
    assert listed.json["items"][0]["group_id"] == group["_id"]
    assert "url" not in listed.json["items"][0] and "secret_hash" not in listed.json["items"][0]
    site_feeds = client.get(f"/v1/calendar-feeds?site_id={SITE}", headers=operator).json
    assert {f["id"] for f in site_feeds["items"]} == {mine["id"], theirs["id"]}
    as_facilitator = client.get(f"/v1/calendar-feeds?site_id={SITE}", headers=zed).json
    assert [f["id"] for f in as_facilitator["items"]] == [theirs["id"]]
    assert client.get("/v1/calendar-feeds", headers=auth("client", SITE)).status_code == 403

    # another member of staff cannot revoke it, nor learn that it exists
    stranger = client.delete(f"/v1/calendar-feeds/{mine['id']}", headers=zed)
    assert stranger.status_code == 404
    coordinator = client.delete(
        f"/v1/calendar-feeds/{mine['id']}", headers=auth("coordinator", SITE, sub="coord")
    )
    assert coordinator.status_code == 404
    assert client.get(feed_path(mine)).status_code == 200
    assert client.delete(f"/v1/calendar-feeds/{mine['id']}", headers=ana).status_code == 204
    assert client.delete(f"/v1/calendar-feeds/{theirs['id']}", headers=operator).status_code == 204
    assert client.get(feed_path(mine)).status_code == 404
    assert client.get(feed_path(theirs)).status_code == 404
    assert client.get(f"/v1/calendar-feeds?site_id={SITE}", headers=operator).json["items"] == []
    actions = c.repositories.audit.actions()
    assert actions.count("calendar_feed.list") == 4 and actions.count("calendar_feed.revoke") == 2


def test_a_feed_stops_when_its_clinician_or_its_maker_is_deactivated(client, auth, c):
    group = services.create_group(group_body(), c, COORDINATOR)
    made_by_ana = client.post(
        "/v1/calendar-feeds",
        json={"group_id": group["_id"]},
        headers=auth("facilitator", SITE, sub="subject-ana"),
    ).json
    of_ben = client.post(
        "/v1/calendar-feeds", json={"clinician_id": "ben"}, headers=auth("coordinator", SITE)
    ).json
    of_zed = client.post(
        "/v1/calendar-feeds", json={"clinician_id": "zed"}, headers=auth("coordinator", SITE)
    ).json
    assert all(client.get(feed_path(f)).status_code == 200 for f in (made_by_ana, of_ben, of_zed))

    for clinician_id in ("ana", "ben"):
        services.on_clinician_deactivated(
            {"clinician_id": clinician_id, "site_id": SITE, "deactivated_at": NOW.isoformat()}, c
        )

    assert client.get(feed_path(made_by_ana)).status_code == 404
    assert client.get(feed_path(of_ben)).status_code == 404
    assert client.get(feed_path(of_zed)).status_code == 200, "other clinicians' feeds go on"
    again = client.post(
        "/v1/calendar-feeds", json={"clinician_id": "ben"}, headers=auth("coordinator", SITE)
    )
    assert again.status_code == 422
