"""Coaching through its HTTP api (Flask's test client, in-memory wiring, real tokens): the rota
and its gaps, routing, escalation on an injected clock, the crisis path, the 24-hour rule,
diary cards, check-ins and ruptures, goals, privacy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from coaching import bootstrap
from coaching.app import create_app
from coaching.services import availability, directory, escalation
from dbt_shared.clock import FixedClock
from dbt_shared.contracts import coaching as contract

SITE, OTHER = "site-a", "site-b"
PROGRAM = "prog-a"
# Tuesday 2026-03-03 18:00 in New York: inside the default coaching hours (17:00-24:00).
NOW = datetime(2026, 3, 3, 23, 0, tzinfo=UTC)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


@pytest.fixture
def clock():
    return FixedClock(NOW)


def seed(clock, *, rule: bool = True, ack_minutes: int = 1):
    c = bootstrap.in_memory(clock)
    r = c.repositories
    r.sites.insert({"_id": SITE, "timezone": "America/New_York"})
    r.sites.insert({"_id": OTHER, "timezone": "UTC"})
    settings = {"coaching_ack_target_minutes": ack_minutes, "twenty_four_hour_rule": rule}
    r.programs.insert({"_id": PROGRAM, "site_id": SITE, "kind": "adult", "settings": settings})
    for cid in ("tess", "pat", "bea", "otto"):
        site = OTHER if cid == "otto" else SITE
        directory.on_clinician_registered(
            {"clinician_id": cid, "site_id": site, "subject": f"sub-{cid}", "roles": ["therapist"]},
            c,
        )
    for client, therapist in (("client-1", "tess"), ("client-2", "pat")):
        directory.on_client_admitted(
            {
                "client_id": client,
                "site_id": SITE,
                "program_id": PROGRAM,
                "therapist_id": therapist,
                "admitted_at": "2026-02-01T00:00:00+00:00",
            },
            c,
        )
    return c


@pytest.fixture
def components(clock):
    return seed(clock)


@pytest.fixture
def api(api_env, components):
    return create_app(components).test_client()


def as_client(auth, client_id="client-1"):
    return auth("client", [], client_id)


def as_clinician(auth, cid, site=SITE):
    return auth("therapist", site, f"sub-{cid}")


def rota(primary="pat", backup="bea", days=WEEKDAYS):
    return {
        "primary": [
            {"clinician_id": primary, "weekday": d, "start": "17:00", "end": "24:00"} for d in days
        ],
        "backup": [
            {"clinician_id": backup, "weekday": d, "start": "17:00", "end": "24:00"} for d in days
        ],
    }


def published(events, type_):
    return [e for e in events if e.type == type_]


def test_a_rota_with_a_hole_reports_the_gap_once(api, auth, components):
    coordinator = auth("coordinator", SITE)
    answer = api.put(
        f"/v1/sites/{SITE}/rota", json=rota(days=("mon", "wed", "thu", "fri")), headers=coordinator
    )
    assert answer.status_code == 200, answer.json
    coverage = api.get(
        f"/v1/sites/{SITE}/coverage?from=2026-03-10&to=2026-03-10", headers=coordinator
    ).json
    # Tuesday 10 March, 17:00-24:00 New York (EDT since the 8th): 21:00Z to 04:00Z.
    assert {(g["start"], g["end"], g["missing"]) for g in coverage["gaps"]} == {
        ("2026-03-10T21:00:00+00:00", "2026-03-11T04:00:00+00:00", "primary"),
        ("2026-03-10T21:00:00+00:00", "2026-03-11T04:00:00+00:00", "backup"),
    }
    gaps = published(components.repositories.gaps.events, contract.COVERAGE_GAP)
    weekend_and_tuesday = len(gaps)
    assert weekend_and_tuesday >= 2
    api.put(
        f"/v1/sites/{SITE}/rota", json=rota(days=("mon", "wed", "thu", "fri")), headers=coordinator
    )
    assert len(published(components.repositories.gaps.events, contract.COVERAGE_GAP)) == len(gaps)


def test_a_request_goes_to_the_own_therapist_on_call_else_the_primary(api, auth):
    api.put(f"/v1/sites/{SITE}/rota", json=rota(primary="tess"), headers=auth("coordinator", SITE))
    mine = api.post("/v1/coaching-requests", json={"kind": "skills"}, headers=as_client(auth))
    assert mine.status_code == 201, mine.json
    assert mine.json["routed_to"] == "tess" and mine.json["notified"] == ["tess"]
    assert mine.json["emergency_route"]["number"] == "988"
    other = api.post(
        "/v1/coaching-requests", json={"kind": "skills"}, headers=as_client(auth, "client-2")
    ).json
    assert other["routed_to"] == "tess"  # pat is not on call: the primary


def test_a_late_acknowledgement_escalates_to_the_backup_then_the_lead(api, auth, components, clock):
    api.put(f"/v1/sites/{SITE}/rota", json=rota(), headers=auth("coordinator", SITE))
    request = api.post(
        "/v1/coaching-requests", json={"kind": "relationship"}, headers=as_client(auth, "client-1")
    ).json
    assert request["routed_to"] == "pat"
    assert escalation.escalate_due(components) == 0  # not due yet
    clock.advance(timedelta(minutes=1, seconds=1))
    assert escalation.escalate_due(components) == 1
    assert escalation.escalate_due(components) == 0  # fired once
    escalated = published(components.repositories.requests.events, contract.REQUEST_ESCALATED)
    assert [(e.data["level"], e.data["to"]) for e in escalated] == [(1, "bea")]
    clock.advance(timedelta(minutes=1, seconds=1))
    escalation.escalate_due(components)
    escalated = published(components.repositories.requests.events, contract.REQUEST_ESCALATED)
    assert [(e.data["level"], e.data["to"]) for e in escalated][-1] == (2, None)
    assert escalated[-1].data["notify_clinical_lead"] is True


def test_an_acknowledged_request_does_not_escalate(api, auth, components, clock):
    api.put(f"/v1/sites/{SITE}/rota", json=rota(), headers=auth("coordinator", SITE))
    request = api.post("/v1/coaching-requests", json={"kind": "skills"}, headers=as_client(auth))
    ack = api.post(
        f"/v1/coaching-requests/{request.json['id']}/acknowledgement",
        headers=as_clinician(auth, "pat"),
    )
    assert ack.status_code == 200 and ack.json["status"] == "acknowledged"
    clock.advance(timedelta(minutes=5))
    assert escalation.escalate_due(components) == 0 or all(
        e.data["deadline"] == "callback"
        for e in published(components.repositories.requests.events, contract.REQUEST_ESCALATED)
    )


def test_the_crisis_path_reaches_two_clinicians_at_once_and_shows_the_route(api, auth):
    api.put(f"/v1/sites/{SITE}/rota", json=rota(), headers=auth("coordinator", SITE))
    crisis = api.post("/v1/coaching-requests", json={"kind": "crisis"}, headers=as_client(auth))
    assert crisis.status_code == 201
    assert sorted(crisis.json["notified"]) == ["bea", "pat"]
    assert crisis.json["acknowledge_by"] is None
    assert crisis.json["emergency_route"]["number"] == "988"
    assert "call 988" in crisis.json["emergency_route"]["text"]


def test_with_nobody_on_call_a_crisis_goes_to_the_lead_and_the_intake_address(api, auth):
    crisis = api.post("/v1/coaching-requests", json={"kind": "crisis"}, headers=as_client(auth))
    assert crisis.json["notified"] == []
    assert crisis.json["notify_clinical_lead"] and crisis.json["notify_site_intake"]


def test_the_24_hour_rule_holds_a_skills_request_but_never_a_crisis(api, auth, components):
    api.put(f"/v1/sites/{SITE}/rota", json=rota(), headers=auth("coordinator", SITE))
    card = {
        "date": "2026-03-03",
        "urges": [{"target": "self_harm", "rating": 4, "acted": True}],
        "distress": 7,
    }
    answer = api.post("/v1/diary-cards", json=card, headers=as_client(auth))
    assert answer.status_code == 201 and answer.json["risk_flagged"] is True
    risk = published(components.repositories.cards.events, contract.RISK_FLAGGED)
    assert [e.data["therapist_id"] for e in risk] == ["tess"]
    held = api.post("/v1/coaching-requests", json={"kind": "skills"}, headers=as_client(auth))
    assert held.json["status"] == "held_24_hour_rule" and held.json["notified"] == ["tess"]
    assert "24-hour rule" in held.json["explanation"] and held.json["emergency_route"]
    crisis = api.post("/v1/coaching-requests", json={"kind": "crisis"}, headers=as_client(auth))
    assert crisis.json["status"] == "open" and sorted(crisis.json["notified"]) == ["bea", "pat"]


def test_a_program_without_the_24_hour_rule_answers_at_once(api_env, auth, clock):
    api = create_app(seed(clock, rule=False)).test_client()
    card = {
        "date": "2026-03-03",
        "urges": [{"target": "self_harm", "rating": 2, "acted": True}],
        "distress": 5,
    }
    api.post("/v1/diary-cards", json=card, headers=as_client(auth))
    answer = api.post("/v1/coaching-requests", json={"kind": "skills"}, headers=as_client(auth))
    assert answer.json["status"] == "open"


def test_a_high_suicide_urge_sends_the_next_request_down_the_crisis_path(api, auth):
    api.put(f"/v1/sites/{SITE}/rota", json=rota(), headers=auth("coordinator", SITE))
    card = {
        "date": "2026-03-03",
        "urges": [{"target": "suicide", "rating": 4, "acted": False}],
        "distress": 8,
    }
    api.post("/v1/diary-cards", json=card, headers=as_client(auth))
    answer = api.post("/v1/coaching-requests", json={"kind": "skills"}, headers=as_client(auth))
    assert answer.json["crisis"] is True and sorted(answer.json["notified"]) == ["bea", "pat"]


def test_diary_content_is_sealed_at_rest_and_summarised_for_the_therapist(api, auth, components):
    card = {
        "date": "2026-03-03",
        "emotions": {"sadness": 4},
        "skills_used": ["tipp"],
        "distress": 6,
    }
    api.post("/v1/diary-cards", json=card, headers=as_client(auth))
    stored = components.repositories.cards.documents["client-1:2026-03-03"]
    assert "sadness" not in str(stored) and "tipp" not in str(stored)
    summary = api.get(
        "/v1/clients/client-1/diary-summary?week=2026-W10", headers=as_clinician(auth, "tess")
    )
    assert summary.status_code == 200, summary.json
    assert summary.json["days_filled"] == 1 and summary.json["emotions"] == {"sadness": 4.0}
    assert summary.json["skills_by_module"]["distress_tolerance"]["uses"] == 1
    # another therapist, another client, another site: nothing
    for headers in (
        as_clinician(auth, "pat"),
        as_client(auth, "client-2"),
        as_clinician(auth, "otto", OTHER),
    ):
        assert api.get("/v1/clients/client-1/diary-summary", headers=headers).status_code == 404


def test_a_low_check_in_raises_a_rupture_for_the_therapist_to_repair(api, auth, components, clock):
    for ratings in ([9, 9, 9, 9], [9, 10, 9, 9]):
        clock.advance(timedelta(days=7))  # a session a week
        api.post(
            "/v1/alliance-checkins",
            json={"session_kind": "individual", "ratings": ratings},
            headers=as_client(auth),
        )
    clock.advance(timedelta(days=7))
    low = api.post(
        "/v1/alliance-checkins",
        json={"session_kind": "group", "ratings": [8, 8, 8, 7]},
        headers=as_client(auth),
    )
    assert low.status_code == 201 and low.json["total"] == 31 and low.json["rupture_id"]
    flagged = published(components.repositories.ruptures.events, contract.RUPTURE_FLAGGED)
    assert [e.data["therapist_id"] for e in flagged] == ["tess"]
    repaired = api.post(
        f"/v1/ruptures/{low.json['rupture_id']}/repair", json={}, headers=as_clinician(auth, "tess")
    )
    assert repaired.status_code == 200 and repaired.json["status"] == "repaired"
    alliance = api.get("/v1/clients/client-1/alliance", headers=as_client(auth)).json
    assert [p["total"] for p in alliance["series"]] == [36, 37, 31]
    assert alliance["open_ruptures"] == [] and len(alliance["repaired_ruptures"]) == 1


def test_bad_ratings_name_the_field_and_store_nothing(api, auth, components):
    answer = api.post(
        "/v1/alliance-checkins",
        json={"session_kind": "group", "ratings": [9, 11, 9]},
        headers=as_client(auth),
    )
    assert answer.status_code == 422
    assert components.repositories.checkins.documents == {}


def test_goals_are_shared_with_who_changed_what(api, auth):
    goal = api.post(
        "/v1/clients/client-1/goals",
        json={"title": "Sleep by 23:00", "why": "energy"},
        headers=as_client(auth),
    )
    assert goal.status_code == 201, goal.json
    changed = api.patch(
        f"/v1/clients/client-1/goals/{goal.json['id']}",
        json={"progress": 40},
        headers=as_clinician(auth, "tess"),
    )
    assert changed.status_code == 200 and changed.json["progress"] == 40
    seen = api.get("/v1/clients/client-1/goals", headers=as_client(auth)).json["items"]
    assert seen[0]["title"] == "Sleep by 23:00"
    assert [h["by"] for h in seen[0]["history"]] == ["client-1", "sub-tess"]
    assert (
        api.get("/v1/clients/client-1/goals", headers=as_client(auth, "client-2")).status_code
        == 404
    )


def test_a_closed_contact_counts_toward_the_clinicians_load(api, auth, components, clock):
    api.put(f"/v1/sites/{SITE}/rota", json=rota(), headers=auth("coordinator", SITE))
    rid = api.post("/v1/coaching-requests", json={"kind": "skills"}, headers=as_client(auth)).json[
        "id"
    ]
    api.post(f"/v1/coaching-requests/{rid}/callback", headers=as_clinician(auth, "pat"))
    closed = api.post(
        f"/v1/coaching-requests/{rid}/closure",
        json={"outcome": "skills_coached", "duration_minutes": 125},
        headers=as_clinician(auth, "pat"),
    )
    assert closed.status_code == 200 and closed.json["status"] == "closed"
    load = api.get("/v1/clinicians/pat/load?weeks=1", headers=as_clinician(auth, "pat")).json
    assert load["weeks"][-1]["contacts"] == 1
    assert load["weeks"][-1]["outside_business_hours_minutes"] == 125
    assert published(components.repositories.load_flags.events, contract.LOAD_HIGH)


def test_every_read_of_a_diary_summary_is_audited(api, auth, components):
    api.get("/v1/clients/client-1/diary-summary", headers=as_clinician(auth, "tess"))
    assert "diary_card.summary_read" in components.repositories.audit.actions()


def test_a_gap_is_reported_once_as_the_hours_go_by(api, auth, components, clock):
    api.put(
        f"/v1/sites/{SITE}/rota",
        json=rota(backup="bea", days=("mon",)),
        headers=auth("coordinator", SITE),
    )
    reported = len(published(components.repositories.gaps.events, contract.COVERAGE_GAP))
    assert reported > 0
    for _ in range(5):
        clock.advance(timedelta(hours=1))
        availability.check_all_gaps(components)
    assert len(published(components.repositories.gaps.events, contract.COVERAGE_GAP)) == reported


def test_a_deadline_read_by_two_workers_escalates_once(api, auth, components, clock):
    api.put(f"/v1/sites/{SITE}/rota", json=rota(), headers=auth("coordinator", SITE))
    api.post("/v1/coaching-requests", json={"kind": "skills"}, headers=as_client(auth))
    clock.advance(timedelta(minutes=1, seconds=1))
    stale = components.repositories.due_deadlines()
    assert escalation.escalate_due(components) == 1
    # a second worker still holding the list it read before: the deadline has moved on
    components.repositories.due_deadlines = lambda limit=200: stale
    assert escalation.escalate_due(components) == 0


def test_when_the_backup_has_it_the_escalation_tries_the_primary(api, auth, components, clock):
    api.put(
        f"/v1/sites/{SITE}/rota",
        json=rota(primary="pat", backup="tess"),
        headers=auth("coordinator", SITE),
    )
    request = api.post("/v1/coaching-requests", json={"kind": "skills"}, headers=as_client(auth))
    assert request.json["routed_to"] == "tess"  # the client's own therapist, the backup tonight
    clock.advance(timedelta(minutes=1, seconds=1))
    escalation.escalate_due(components)
    escalated = published(components.repositories.requests.events, contract.REQUEST_ESCALATED)
    assert [(e.data["level"], e.data["to"]) for e in escalated] == [(1, "pat")]


def test_a_clinician_not_involved_does_not_see_the_request(api, auth):
    api.put(f"/v1/sites/{SITE}/rota", json=rota(), headers=auth("coordinator", SITE))
    rid = api.post(
        "/v1/coaching-requests", json={"kind": "skills"}, headers=as_client(auth, "client-2")
    ).json["id"]
    assert (
        api.get(f"/v1/coaching-requests/{rid}", headers=as_clinician(auth, "pat")).status_code
        == 200
    )
    assert (
        api.get(f"/v1/coaching-requests/{rid}", headers=as_clinician(auth, "tess")).status_code
        == 404
    )
    listed = api.get(f"/v1/coaching-requests?site_id={SITE}", headers=as_clinician(auth, "tess"))
    assert listed.status_code == 200 and listed.json["items"] == []


def test_a_card_filled_in_days_later_holds_nothing(api, auth, components):
    card = {
        "date": "2026-02-27",
        "urges": [{"target": "self_harm", "rating": 3, "acted": True}],
        "distress": 5,
    }
    assert api.post("/v1/diary-cards", json=card, headers=as_client(auth)).status_code == 201
    answer = api.post("/v1/coaching-requests", json={"kind": "skills"}, headers=as_client(auth))
    assert answer.json["status"] == "open"
    stored = components.repositories.clients.documents["client-1"]
    assert "self_harm" not in str(stored) and "2026-02-27" not in str(stored)
