"""Skills groups across the real processes: intake admits, skills-group places at the next
module boundary or waitlists, attendance drives the four-miss rule, the calendar feed imports.

The site's clinicians and program reach skills-group through intake's events; an admitted
client arrives the same way. Nothing here writes to skills-group's database directly.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import icalendar
import pytest
import requests
from e2e_intake_clinic import LOW_RISK, new_referral
from pymongo import MongoClient

from dbt_shared.contracts import skills
from support import Api, header, read_topic, wait_until

EVENINGS = [{"weekday": "tue", "start": "17:00", "end": "22:00"}]


@pytest.fixture(scope="module")
def groups_clinic(platform, tokens):
    profile = platform.profile
    operator = Api(profile.api_url("intake"), tokens.operator())
    tag = uuid.uuid4().hex[:6]
    site = operator.post(
        "/v1/sites",
        json={
            "name": f"Groups Site {tag}",
            "timezone": "America/Chicago",
            "intake_email": f"intake-{tag}@clinic.example.org",
            "clinical_lead": {"name": "Dr. Lead", "email": f"lead-{tag}@clinic.example.org"},
        },
    ).json()
    site_id = site["id"]
    program = operator.post(
        f"/v1/sites/{site_id}/programs",
        json={"kind": "adult", "settings": {"group_capacity": 1}},
    ).json()
    clinicians = {}
    for name in ("ana", "ben", "therapist"):
        roles = ["therapist"] if name == "therapist" else ["facilitator"]
        created = operator.post(
            f"/v1/sites/{site_id}/clinicians",
            json={
                "subject": f"idp|{name}-{tag}",
                "display_name": name.title(),
                "roles": roles,
                "languages": ["en", "es"],
                "email": f"{name}-{tag}@clinic.example.org",
                "phone": "+1 312 555 0199",
            },
        )
        assert created.status_code == 201, created.text
        clinicians[name] = created.json()["id"]
    coordinator = Api(profile.api_url("skills-group"), tokens.coordinator(site_id))
    # skills-group learns the site, the program and the facilitators from intake's events
    wait_until(
        lambda: coordinator.get(f"/v1/sites/{site_id}/programs").json().get("items"),
        timeout=30,
        what="skills-group to learn the program",
    )
    return {
        "profile": profile,
        "site_id": site_id,
        "program_id": program["id"],
        "clinicians": clinicians,
        "tag": tag,
        "intake": {"coordinator": Api(profile.api_url("intake"), tokens.coordinator(site_id))},
        "coordinator": coordinator,
        "facilitator": Api(
            profile.api_url("skills-group"),
            tokens.role("facilitator", site_id, sub=f"idp|ana-{tag}"),
        ),
        "stranger": Api(profile.api_url("skills-group"), tokens.coordinator("elsewhere")),
    }


def admit(clinic) -> str:
    """A referral of the site taken through intake to admission; answers the client id."""
    intake_clinic = {
        "coordinator": clinic["intake"]["coordinator"],
        "site_id": clinic["site_id"],
    }
    coordinator = clinic["intake"]["coordinator"]
    rid = new_referral(intake_clinic)["id"]
    for path, body in (
        ("screenings", LOW_RISK),
        ("eligibility", {"decision": "eligible", "reason": "meets criteria"}),
        ("orientation", None),
        (
            "commitment",
            {
                "orientation_sessions": 2,
                "all_modes": True,
                "four_miss_rule": True,
                "consent_to_treatment": True,
            },
        ),
        ("therapist", {"clinician_id": clinic["clinicians"]["therapist"]}),
        ("admission", {"availability": EVENINGS}),
    ):
        answer = coordinator.post(f"/v1/referrals/{rid}/{path}", json=body)
        assert answer.status_code in (200, 201), f"{path}: {answer.text}"
    return rid


def create_group(clinic, **changes) -> dict:
    body = {
        "site_id": clinic["site_id"],
        "program_id": clinic["program_id"],
        "name": "Tuesday evening",
        "weekday": "tue",
        "start_time": "18:00",
        "duration_minutes": 150,
        "room": "Room 2",
        "facilitator_ids": [clinic["clinicians"]["ana"], clinic["clinicians"]["ben"]],
        "starts_on": (datetime.now(UTC) - timedelta(days=70)).date().isoformat(),
        "cycles": 1,
        **changes,
    }
    answer = wait_until(
        lambda: (r := clinic["coordinator"].post("/v1/groups", json=body)).status_code != 422 and r,
        timeout=30,
        what="skills-group to learn the facilitators",
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_admitted_clients_are_placed_at_the_next_entry_point_or_wait_for_a_seat(groups_clinic):
    clinic = groups_clinic
    group = create_group(clinic)  # capacity 1 (the program's setting)
    first, second = admit(clinic), admit(clinic)

    enrollments = wait_until(
        lambda: clinic["coordinator"].get(f"/v1/groups/{group['id']}/enrollments").json()["items"],
        timeout=30,
        what="the first admitted client to be placed",
    )
    [enrollment] = enrollments
    assert enrollment["client_id"] == first
    sessions = clinic["coordinator"].get(f"/v1/groups/{group['id']}/sessions").json()["items"]
    start = next(s for s in sessions if s["id"] == enrollment["first_session_id"])
    assert start["is_entry_point"] and start["starts_at"] > datetime.now(UTC).isoformat()
    waiting = wait_until(
        lambda: (
            clinic["coordinator"].get(f"/v1/waitlist?site_id={clinic['site_id']}").json()["items"]
        ),
        timeout=30,
        what="the second client on the waitlist",
    )
    assert [(w["client_id"], w["reason"]) for w in waiting] == [(second, "no_free_seat")]

    # a seat frees (the group grows): the longest-waiting client who fits takes it
    grown = clinic["coordinator"].request(
        "PATCH", f"/v1/groups/{group['id']}", json={"capacity": 2}
    )
    assert grown.status_code == 200, grown.text
    both = clinic["coordinator"].get(f"/v1/groups/{group['id']}/enrollments").json()["items"]
    assert sorted(e["client_id"] for e in both) == sorted([first, second])
    waitlist = clinic["coordinator"].get(f"/v1/waitlist?site_id={clinic['site_id']}").json()
    assert waitlist["items"] == []

    bootstrap = clinic["profile"].kafka_bootstrap
    created = [
        r
        for r in read_topic(bootstrap, skills.TOPIC.name)
        if header(r, "ce_type") == skills.ENROLLMENT_CREATED and first.encode() in r.value
    ]
    assert created and b"Given" not in created[0].value, "ids only in events"

    assert clinic["stranger"].get(f"/v1/groups/{group['id']}").status_code == 404


def test_a_closure_shifts_the_calendar_and_the_feed_shows_it(groups_clinic):
    clinic = groups_clinic
    group = create_group(
        clinic,
        name="Thursday",
        weekday="thu",
        room="Room 7",
        starts_on=(datetime.now(UTC) + timedelta(days=7)).date().isoformat(),
    )
    feed = clinic["coordinator"].post("/v1/calendar-feeds", json={"group_id": group["id"]})
    assert feed.status_code == 201, feed.text
    url = feed.json()["url"]
    before = icalendar.Calendar.from_ical(requests.get(url, timeout=10).content)
    closed = group["sessions"][1]["date"]

    shifted = clinic["coordinator"].post(
        f"/v1/sites/{clinic['site_id']}/closures", json={"date": closed, "reason": "Holiday"}
    )
    assert shifted.status_code == 201, shifted.text

    after = icalendar.Calendar.from_ical(requests.get(url, timeout=10).content)
    moved = {str(e["UID"]): e for e in after.walk("VEVENT")}
    for event in before.walk("VEVENT"):
        if event.decoded("DTSTART").date().isoformat() >= closed:
            now = moved[str(event["UID"])]
            assert now.decoded("DTSTART") == event.decoded("DTSTART") + timedelta(weeks=1)
            assert int(now["SEQUENCE"]) == int(event["SEQUENCE"]) + 1
    assert (
        clinic["coordinator"]
        .request("DELETE", f"/v1/calendar-feeds/{feed.json()['id']}")
        .status_code
        == 204
    )
    assert requests.get(url, timeout=10).status_code == 404


def test_three_misses_raise_the_at_risk_event_and_the_fourth_discharges(groups_clinic):
    clinic = groups_clinic
    group = create_group(
        clinic,
        name="Monday",
        weekday="mon",
        room="Room 5",
        starts_on=(datetime.now(UTC) - timedelta(weeks=10)).date().isoformat(),
        capacity=3,
    )
    client = admit(clinic)
    wait_until(
        lambda: (
            client
            in [
                w["client_id"]
                for w in clinic["coordinator"]
                .get(f"/v1/waitlist?site_id={clinic['site_id']}")
                .json()["items"]
            ]
        ),
        timeout=30,
        what="the client on the waitlist (no group of theirs has a seat soon)",
    )
    sessions = clinic["coordinator"].get(f"/v1/groups/{group['id']}/sessions").json()["items"]
    entry = next(s for s in sessions if s["is_entry_point"])  # the group already met then
    placed = clinic["coordinator"].post(
        f"/v1/groups/{group['id']}/enrollments",
        json={"client_id": client, "from_session_id": entry["id"]},
    )
    # (Mondays are outside the client's availability: rolling admission never puts them here)
    assert placed.status_code == 201, placed.text
    ahead = [s for s in sessions if s["index"] >= entry["index"]][:4]
    future = next(s for s in sessions if s["starts_at"] > datetime.now(UTC).isoformat())
    early = clinic["facilitator"].request(
        "PUT",
        f"/v1/sessions/{future['id']}/attendance",
        json={"records": [{"client_id": client, "status": "absent"}]},
    )
    assert early.status_code == 409
    for session in ahead:
        answer = clinic["facilitator"].request(
            "PUT",
            f"/v1/sessions/{session['id']}/attendance",
            json={"records": [{"client_id": client, "status": "absent", "reason": "no show"}]},
        )
        assert answer.status_code == 200, answer.text
    record = clinic["coordinator"].get(f"/v1/clients/{client}/attendance").json()
    assert record["consecutive_misses"] == 4 and record["attendance_rate"] == 0.0
    bootstrap = clinic["profile"].kafka_bootstrap

    def published():  # the api hands its events to the broker just after it answers
        mine = [r for r in read_topic(bootstrap, skills.TOPIC.name) if client.encode() in r.value]
        types = [header(r, "ce_type") for r in mine]
        return (mine, types) if skills.CLIENT_DISCHARGED in types else None

    mine, types = wait_until(published, timeout=30, what="the discharge on the skills topic")
    assert types.count(skills.ATTENDANCE_AT_RISK) == 1
    assert types.count(skills.CLIENT_DISCHARGED) == 1
    assert all(b"no show" not in r.value for r in mine), "no reasons in events"
    stored = MongoClient(clinic["profile"].mongodb_uri)["dbt_skills_group"].attendance.find(
        {"client_id": client}
    )
    assert all(r["reason"].startswith("enc:v1:") for r in stored), "reasons are sealed at rest"
    assert {s["reason"] for s in record["sessions"]} == {"no show"}, "and shown to staff"


def test_a_clinicians_feed_stops_once_intake_deactivates_them(groups_clinic, tokens):
    clinic = groups_clinic
    operator = Api(clinic["profile"].api_url("intake"), tokens.operator())
    ben = clinic["clinicians"]["ben"]
    made = clinic["coordinator"].post("/v1/calendar-feeds", json={"clinician_id": ben})
    assert made.status_code == 201, made.text
    url = made.json()["url"]
    assert requests.get(url, timeout=10).status_code == 200
    listed = clinic["coordinator"].get("/v1/calendar-feeds").json()["items"]
    assert made.json()["id"] in [f["id"] for f in listed]

    left = operator.post(f"/v1/sites/{clinic['site_id']}/clinicians/{ben}/deactivation")

    assert left.status_code == 200 and left.json()["active"] is False
    wait_until(
        lambda: requests.get(url, timeout=10).status_code == 404,
        timeout=30,
        what="skills-group to end the deactivated clinician's feed",
    )
