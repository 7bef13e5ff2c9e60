"""Coaching across the real processes: intake's site, program, clinicians and admitted client
reach coaching through events; the rota's hole is reported; a request is routed to the
on-call primary and escalates to the backup when nobody acknowledges it within the program's
one-minute target; the crisis path reaches both at once and is never held; the 24-hour rule;
a diary card with self-harm acted on raises the risk event; a low check-in raises a rupture;
goals are shared; nothing of the diary is stored in plain text; another site or client sees
nothing.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import MongoClient
from test_skills_groups import admit

from dbt_shared.contracts import coaching
from support import Api, header, read_topic, wait_until

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALL_DAY = [{"weekday": d, "start": "00:00", "end": "24:00"} for d in DAYS]


@pytest.fixture(scope="module")
def clinic(platform, tokens):
    profile = platform.profile
    operator = Api(profile.api_url("intake"), tokens.operator())
    tag = uuid.uuid4().hex[:6]
    site_id = operator.post(
        "/v1/sites",
        json={
            "name": f"Coaching Site {tag}",
            "timezone": "UTC",
            "intake_email": f"intake-{tag}@clinic.example.org",
            "clinical_lead": {"name": "Dr. Lead", "email": f"lead-{tag}@clinic.example.org"},
        },
    ).json()["id"]
    settings = {"coaching_ack_target_minutes": 1, "twenty_four_hour_rule": True}
    operator.post(f"/v1/sites/{site_id}/programs", json={"kind": "adult", "settings": settings})
    clinicians = {}
    for name in ("therapist", "primary", "backup"):
        answer = operator.post(
            f"/v1/sites/{site_id}/clinicians",
            json={
                "subject": f"idp|{name}-{tag}",
                "display_name": name.title(),
                "roles": ["therapist"],
                "languages": ["en"],
            },
        )
        assert answer.status_code == 201, answer.text
        clinicians[name] = answer.json()["id"]
    url = profile.api_url("coaching")
    clinic = {
        "profile": profile,
        "site_id": site_id,
        "tag": tag,
        "clinicians": clinicians,
        "intake": {"coordinator": Api(profile.api_url("intake"), tokens.coordinator(site_id))},
        "coordinator": Api(url, tokens.coordinator(site_id)),
        "stranger": Api(url, tokens.coordinator("elsewhere")),
    }
    for name in clinicians:
        clinic[name] = Api(url, tokens.role("therapist", site_id, sub=f"idp|{name}-{tag}"))
    client_id = admit(clinic)
    clinic["client_id"] = client_id
    clinic["client"] = Api(url, tokens.role("client", sub=client_id))
    clinic["other_client"] = Api(url, tokens.role("client", sub="someone-else"))
    wait_until(
        lambda: clinic["client"].get(f"/v1/clients/{client_id}/goals").status_code == 200,
        timeout=30,
        what="coaching to learn the admitted client",
    )
    # Coaching hours all day; the primary always on call, the backup except the day after
    # tomorrow (a hole in the rota, not now: the escalation below needs the backup).
    hole = DAYS[(datetime.now(UTC).weekday() + 2) % 7]
    answer = clinic["coordinator"].put(
        f"/v1/sites/{site_id}/coaching-hours", json={"hours": ALL_DAY}
    )
    assert answer.status_code == 200, answer.text
    rota = {
        "primary": [{**w, "clinician_id": clinicians["primary"]} for w in ALL_DAY],
        "backup": [
            {**w, "clinician_id": clinicians["backup"]} for w in ALL_DAY if w["weekday"] != hole
        ],
    }
    answer = clinic["coordinator"].put(f"/v1/sites/{site_id}/rota", json=rota)
    assert answer.status_code == 200, answer.text
    clinic["hole"] = hole
    return clinic


def coaching_events(clinic, type_: str, needle: str) -> list:
    bootstrap = clinic["profile"].kafka_bootstrap
    return [
        r
        for r in read_topic(bootstrap, coaching.TOPIC.name)
        if header(r, "ce_type") == type_ and needle.encode() in r.value
    ]


def test_a_rota_with_a_hole_reports_the_gap(clinic):
    today = datetime.now(UTC).date()
    coverage = (
        clinic["coordinator"]
        .get(
            f"/v1/sites/{clinic['site_id']}/coverage",
            params={"from": today.isoformat(), "to": (today + timedelta(days=6)).isoformat()},
        )
        .json()
    )
    hole_day = (today + timedelta(days=2)).isoformat()
    assert [(g["start"][:10], g["missing"]) for g in coverage["gaps"]] == [(hole_day, "backup")]
    found = wait_until(
        lambda: coaching_events(clinic, coaching.COVERAGE_GAP, clinic["site_id"]),
        what="the gap event",
    )
    assert len(found) == 1
    assert clinic["stranger"].get(f"/v1/sites/{clinic['site_id']}/coverage").status_code == 404


def test_a_request_goes_to_the_primary_and_escalates_to_the_backup_when_late(clinic):
    answer = clinic["client"].post("/v1/coaching-requests", json={"kind": "skills"})
    assert answer.status_code == 201, answer.text
    request = answer.json()
    primary, backup = clinic["clinicians"]["primary"], clinic["clinicians"]["backup"]
    assert request["routed_to"] == primary and request["notified"] == [primary]
    assert request["emergency_route"]["number"] == "988"
    # nobody acknowledges within the program's one minute: the timer (every 15 s) escalates
    escalated = wait_until(
        lambda: (
            backup
            in clinic["client"].get(f"/v1/coaching-requests/{request['id']}").json()["notified"]
        ),
        timeout=120,
        what="the escalation to the backup",
    )
    assert escalated
    events = coaching_events(clinic, coaching.REQUEST_ESCALATED, request["id"])
    assert len(events) == 1 and backup.encode() in events[0].value
    ack = clinic["backup"].post(f"/v1/coaching-requests/{request['id']}/acknowledgement")
    assert ack.status_code == 200 and ack.json()["status"] == "acknowledged"


def test_the_crisis_path_reaches_two_clinicians_and_the_24_hour_rule_never_holds_it(clinic):
    crisis = clinic["client"].post("/v1/coaching-requests", json={"kind": "crisis"}).json()
    both = sorted([clinic["clinicians"]["primary"], clinic["clinicians"]["backup"]])
    assert sorted(crisis["notified"]) == both and crisis["acknowledge_by"] is None
    today = datetime.now(UTC).date().isoformat()
    card = {
        "date": today,
        "emotions": {"shame": 4},
        "urges": [{"target": "self_harm", "rating": 4, "acted": True}],
        "skills_used": ["tipp"],
        "distress": 8,
    }
    answer = clinic["client"].post("/v1/diary-cards", json=card)
    assert answer.status_code in (200, 201), answer.text
    assert answer.json()["risk_flagged"] is True
    risk = wait_until(
        lambda: coaching_events(clinic, coaching.RISK_FLAGGED, clinic["client_id"]),
        what="the risk event",
    )
    assert b"shame" not in risk[0].value and b"self_harm" not in risk[0].value
    held = clinic["client"].post("/v1/coaching-requests", json={"kind": "skills"}).json()
    assert held["status"] == "held_24_hour_rule"
    assert held["notified"] == [clinic["clinicians"]["therapist"]]
    assert held["emergency_route"]["number"] == "988"
    again = clinic["client"].post("/v1/coaching-requests", json={"kind": "crisis"}).json()
    assert again["status"] == "open" and sorted(again["notified"]) == both

    stored = MongoClient(clinic["profile"].mongodb_uri)["dbt_coaching"].diary_cards.find_one(
        {"_id": f"{clinic['client_id']}:{today}"}
    )
    assert stored is not None and "shame" not in str(stored) and "tipp" not in str(stored)
    summary = clinic["therapist"].get(f"/v1/clients/{clinic['client_id']}/diary-summary").json()
    assert summary["days_filled"] == 1 and summary["emotions"] == {"shame": 4.0}
    for outsider in (clinic["other_client"], clinic["primary"], clinic["stranger"]):
        path = f"/v1/clients/{clinic['client_id']}/diary-summary"
        assert outsider.get(path).status_code in (403, 404)


def test_a_low_check_in_raises_a_rupture_and_goals_are_shared(clinic):
    low = (
        clinic["client"]
        .post("/v1/alliance-checkins", json={"session_kind": "individual", "ratings": [7, 8, 8, 8]})
        .json()
    )
    assert low["total"] == 31 and low["rupture_id"]
    wait_until(
        lambda: coaching_events(clinic, coaching.RUPTURE_FLAGGED, low["rupture_id"]),
        what="the rupture event",
    )
    alliance = clinic["therapist"].get(f"/v1/clients/{clinic['client_id']}/alliance").json()
    assert [r["id"] for r in alliance["open_ruptures"]] == [low["rupture_id"]]

    goal = (
        clinic["client"]
        .post(f"/v1/clients/{clinic['client_id']}/goals", json={"title": "Call a friend weekly"})
        .json()
    )
    changed = clinic["therapist"].patch(
        f"/v1/clients/{clinic['client_id']}/goals/{goal['id']}", json={"progress": 25}
    )
    assert changed.status_code == 200, changed.text
    seen = clinic["client"].get(f"/v1/clients/{clinic['client_id']}/goals").json()["items"]
    assert seen[0]["progress"] == 25 and len(seen[0]["history"]) == 2
    assert clinic["other_client"].get(f"/v1/clients/{clinic['client_id']}/goals").status_code == 404


def test_a_crisis_from_a_client_coaching_does_not_know_yet_is_answered_and_pages(clinic, tokens):
    """Intake's admission not arrived (or never made): the crisis path is open all the same."""
    url = clinic["profile"].api_url("coaching")
    newcomer = Api(url, tokens.role("client", clinic["site_id"], sub=f"new-{uuid.uuid4().hex}"))
    answer = newcomer.post("/v1/coaching-requests", json={"kind": "crisis"})
    assert answer.status_code == 201, answer.text
    crisis = answer.json()
    assert crisis["emergency_route"]["number"] == "988"
    assert crisis["unverified"] == ["client_unknown"]
    primary = clinic["clinicians"]["primary"]
    assert primary in crisis["notified"]
    assert newcomer.post("/v1/coaching-requests", json={"kind": "skills"}).status_code == 404
    inbox = Api(
        clinic["profile"].api_url("notifications"),
        tokens.role("therapist", clinic["site_id"], sub=f"idp|primary-{clinic['tag']}"),
    )
    paged = wait_until(
        lambda: [
            i
            for i in inbox.get("/v1/me/inbox").json()["items"]
            if i.get("request_id") == crisis["id"]
        ],
        timeout=60,
        what="the crisis in the on-call clinician's own inbox",
    )
    assert paged[0]["priority"] == "urgent"
