"""Skills-group's HTTP api through Flask's test client on the in-memory wiring, real tokens."""

from __future__ import annotations

import icalendar
import pytest
from test_skills_services import PROGRAM, SITE, admit, seeded

from skills_group.app import create_app

GROUP = {
    "site_id": SITE,
    "program_id": PROGRAM,
    "name": "Tuesday evening",
    "weekday": "tue",
    "start_time": "18:00",
    "duration_minutes": 150,
    "room": "Room 2",
    "facilitator_ids": ["ana", "ben"],
    "starts_on": "2027-01-05",
    "cycles": 2,
}


@pytest.fixture
def components(clock):
    return seeded(clock, capacity=8)


@pytest.fixture
def client(api_env, components):
    return create_app(components).test_client()


def test_a_coordinator_schedules_a_group_and_gets_its_first_sessions(client, auth):
    answer = client.post("/v1/groups", json=GROUP, headers=auth("coordinator", SITE))
    assert answer.status_code == 201, answer.json
    body = answer.json
    assert body["capacity"] == 8 and len(body["sessions"]) == 8
    assert body["sessions"][0]["is_entry_point"] is True
    sessions = client.get(
        f"/v1/groups/{body['id']}/sessions?from=2027-06-01", headers=auth("coordinator", SITE)
    ).json["items"]
    assert len(sessions) == 48 - 21 and all(s["date"] >= "2027-06-01" for s in sessions)


def test_bad_input_names_the_field_and_changes_nothing(client, auth, components):
    answer = client.post(
        "/v1/groups", json={**GROUP, "weekday": "tuesday"}, headers=auth("coordinator", SITE)
    )
    assert answer.status_code == 422
    assert [e["field"] for e in answer.json["errors"]] == ["weekday"]
    assert components.repositories.groups.documents == {}


def test_another_sites_coordinator_is_refused(client, auth):
    answer = client.post("/v1/groups", json=GROUP, headers=auth("coordinator", "elsewhere"))
    assert answer.status_code in (403, 404)


def test_a_feed_url_needs_no_token_and_answers_404_once_revoked(client, auth, components):
    group = client.post("/v1/groups", json=GROUP, headers=auth("coordinator", SITE)).json
    admit(components, "client-1")
    feed = client.post(
        "/v1/calendar-feeds", json={"group_id": group["id"]}, headers=auth("coordinator", SITE)
    ).json
    path = feed["url"].split("localhost", 1)[1]
    ics = client.get(path)
    assert ics.status_code == 200 and ics.mimetype == "text/calendar"
    assert len(icalendar.Calendar.from_ical(ics.data).walk("VEVENT")) == 48

    revoked = client.delete(f"/v1/calendar-feeds/{feed['id']}", headers=auth("coordinator", SITE))
    assert revoked.status_code == 204
    assert client.get(path).status_code == 404


def test_a_feed_url_names_the_public_host_when_one_is_set(api_env, auth, clock):
    # The console asks from inside the cluster: the link must name the Gateway's host, not the
    # api's own (a calendar app outside cannot reach that one).
    components = seeded(clock, capacity=8)
    components.public_base_url = "https://console.example.com"
    client = create_app(components).test_client()
    group = client.post("/v1/groups", json=GROUP, headers=auth("coordinator", SITE)).json
    feed = client.post(
        "/v1/calendar-feeds", json={"group_id": group["id"]}, headers=auth("coordinator", SITE)
    ).json
    assert feed["url"].startswith("https://console.example.com/calendar/")
    assert client.get(feed["url"].removeprefix("https://console.example.com")).status_code == 200


def test_every_read_of_enrollments_is_in_the_audit_trail(client, auth, components):
    group = client.post("/v1/groups", json=GROUP, headers=auth("coordinator", SITE)).json
    admit(components, "client-1")
    client.get(f"/v1/groups/{group['id']}/enrollments", headers=auth("coordinator", SITE))
    trail = client.get(f"/v1/audit?site_id={SITE}", headers=auth("operator", []))
    assert trail.status_code == 200
    assert "enrollment.list" in [r["action"] for r in trail.json["items"]]
    assert client.get("/v1/audit", headers=auth("coordinator", SITE)).status_code == 403
