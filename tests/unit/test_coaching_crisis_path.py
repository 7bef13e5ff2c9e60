"""The crisis path is always open (coaching's api on its in-memory wiring, real tokens): a client
coaching does not know yet is answered with the emergency route and paged for; a request held
by the 24-hour rule is released when the hold ends; crisis repeats page once more at most; other
requests are limited per client, never the crisis path."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from test_coaching_api import NOW, SITE, as_client, as_clinician, published, rota, seed

from coaching.app import create_app
from coaching.services import escalation, holds
from dbt_shared.clock import FixedClock
from dbt_shared.contracts import coaching as contract

SELF_HARM_CARD = {
    "date": "2026-03-03",
    "urges": [{"target": "self_harm", "rating": 4, "acted": True}],
    "distress": 7,
}


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture
def components(clock):
    return seed(clock)


@pytest.fixture
def api(api_env, components):
    return create_app(components).test_client()


def created_events(components):
    return published(components.repositories.requests.events, contract.REQUEST_CREATED)


# -- a client coaching does not know yet --------------------------------------------------------
def test_a_crisis_from_a_client_not_admitted_here_is_answered_and_pages_the_on_call(
    api, auth, components
):
    api.put(f"/v1/sites/{SITE}/rota", json=rota(), headers=auth("coordinator", SITE))
    newcomer = auth("client", [SITE], "client-new")  # intake's admission not arrived yet
    crisis = api.post("/v1/coaching-requests", json={"kind": "crisis"}, headers=newcomer)
    assert crisis.status_code == 201, crisis.json
    assert crisis.json["emergency_route"]["number"] == "988"
    assert "call 988" in crisis.json["emergency_route"]["text"]
    assert crisis.json["unverified"] == ["client_unknown"]
    assert sorted(crisis.json["notified"]) == ["bea", "pat"]
    (event,) = created_events(components)
    assert event.data["site_id"] == SITE and event.data["crisis"] is True
    assert sorted(event.data["notified"]) == ["bea", "pat"]
    assert event.data["unverified"] == ["client_unknown"]
    mine = api.get(f"/v1/coaching-requests/{crisis.json['id']}", headers=newcomer)
    assert mine.status_code == 200 and mine.json["status"] == "open"


def test_a_crisis_at_a_site_coaching_has_not_learned_pages_the_lead_and_the_intake_address(
    api, auth, components
):
    newcomer = auth("client", ["site-new"], "client-new")
    crisis = api.post("/v1/coaching-requests", json={"kind": "crisis"}, headers=newcomer)
    assert crisis.status_code == 201, crisis.json
    assert crisis.json["emergency_route"]["number"] == "988"
    assert crisis.json["unverified"] == ["client_unknown", "site_unknown"]
    (event,) = created_events(components)
    assert event.data["site_id"] == "site-new"
    assert event.data["notify_clinical_lead"] and event.data["notify_site_intake"]


def test_a_crisis_from_a_token_naming_no_site_still_gets_the_emergency_route(
    api, auth, components, clock
):
    nowhere = auth("client", [], "client-new")
    crisis = api.post("/v1/coaching-requests", json={"kind": "crisis"}, headers=nowhere)
    assert crisis.status_code == 201, crisis.json
    assert crisis.json["emergency_route"]["number"] == "988"
    assert crisis.json["unverified"] == ["client_unknown", "site_unknown"]
    assert created_events(components) == []  # nobody to name: no event that cannot be served
    clock.advance(timedelta(hours=1))
    assert escalation.escalate_due(components) == 0  # and no deadline that cannot escalate


def test_only_the_crisis_path_is_open_to_a_client_coaching_does_not_know(api, auth):
    newcomer = auth("client", [SITE], "client-new")
    skills = api.post("/v1/coaching-requests", json={"kind": "skills"}, headers=newcomer)
    assert skills.status_code == 404


# -- the end of the 24-hour rule -------------------------------------------------------------------
def held_request(api, auth):
    api.put(f"/v1/sites/{SITE}/rota", json=rota(primary="tess"), headers=auth("coordinator", SITE))
    assert api.post("/v1/diary-cards", json=SELF_HARM_CARD, headers=as_client(auth)).status_code
    held = api.post("/v1/coaching-requests", json={"kind": "skills"}, headers=as_client(auth))
    assert held.json["status"] == "held_24_hour_rule"
    return held.json


def test_a_held_request_is_released_after_24_hours_and_the_clinician_is_told(
    api, auth, components, clock
):
    held = held_request(api, auth)
    until = held["held_until"]
    clock.advance(timedelta(hours=23))
    assert holds.release_due(components) == 0
    shown = api.get(f"/v1/coaching-requests/{held['id']}", headers=as_client(auth)).json
    assert shown["status"] == "held_24_hour_rule" and shown["held_until"] == until
    assert "released_at" not in shown

    clock.advance(timedelta(hours=1, minutes=1))
    assert holds.release_due(components) == 1
    assert holds.release_due(components) == 0  # released once
    shown = api.get(f"/v1/coaching-requests/{held['id']}", headers=as_client(auth)).json
    assert shown["status"] == "open" and shown["released_at"] and shown["held_until"] == until
    assert shown["history"][-1]["what"] == "released"
    assert "explanation" not in shown
    (released,) = published(components.repositories.requests.events, contract.REQUEST_RELEASED)
    assert released.data["request_id"] == held["id"] and released.data["notified"] == ["tess"]
    listed = api.get(
        f"/v1/coaching-requests?site_id={SITE}&status=open", headers=auth("coordinator", SITE)
    ).json["items"]
    assert [r["id"] for r in listed] == [held["id"]]  # in hand now, with its deadlines
    clock.advance(timedelta(minutes=2))
    assert escalation.escalate_due(components) == 1  # nobody acknowledged: it escalates


def test_self_harm_recorded_again_during_the_hold_holds_the_request_on(
    api, auth, components, clock
):
    held = held_request(api, auth)
    clock.advance(timedelta(hours=20))
    recorded = api.post(
        "/v1/clients/client-1/self-harm-records",
        json={"occurred_at": clock.now().isoformat()},
        headers=as_clinician(auth, "tess"),
    )
    assert recorded.status_code == 201
    clock.advance(timedelta(hours=4, minutes=1))
    assert holds.release_due(components) == 0
    shown = api.get(f"/v1/coaching-requests/{held['id']}", headers=as_client(auth)).json
    assert shown["status"] == "held_24_hour_rule"
    clock.advance(timedelta(hours=20))
    assert holds.release_due(components) == 1


def test_a_held_request_answered_during_the_hold_is_not_released(api, auth, components, clock):
    held = held_request(api, auth)
    called = api.post(
        f"/v1/coaching-requests/{held['id']}/callback", headers=as_clinician(auth, "tess")
    )
    assert called.status_code == 200, called.json
    clock.advance(timedelta(hours=25))
    assert holds.release_due(components) == 0
    assert components.repositories.holds.get(held["id"]) is None
    assert not published(components.repositories.requests.events, contract.REQUEST_RELEASED)


# -- crisis repeats --------------------------------------------------------------------------------
def test_repeated_crisis_taps_are_all_answered_and_page_once_more_at_most(
    api, auth, components, clock
):
    api.put(f"/v1/sites/{SITE}/rota", json=rota(), headers=auth("coordinator", SITE))
    answers = []
    for _ in range(6):
        answers.append(
            api.post("/v1/coaching-requests", json={"kind": "crisis"}, headers=as_client(auth))
        )
        clock.advance(timedelta(seconds=20))
    assert all(a.status_code in (200, 201) for a in answers), [a.json for a in answers]
    assert all(a.json["emergency_route"]["number"] == "988" for a in answers)
    assert [a.status_code for a in answers] == [201, 201, 200, 200, 200, 200]
    assert len(created_events(components)) == 2  # the first, and once more
    second = answers[1].json["id"]
    assert {a.json["id"] for a in answers[2:]} == {second}
    assert answers[-1].json["repeats"] == 4
    shown = api.get(f"/v1/coaching-requests/{second}", headers=as_clinician(auth, "pat")).json
    assert [h["what"] for h in shown["history"]].count("repeated") == 4

    clock.advance(timedelta(minutes=5))  # the window of the last two pages has passed
    again = api.post("/v1/coaching-requests", json={"kind": "crisis"}, headers=as_client(auth))
    assert again.status_code == 201 and len(created_events(components)) == 3


def test_a_crisis_after_the_last_one_was_closed_pages_again(api, auth, components, clock):
    api.put(f"/v1/sites/{SITE}/rota", json=rota(), headers=auth("coordinator", SITE))
    ids = [
        api.post("/v1/coaching-requests", json={"kind": "crisis"}, headers=as_client(auth)).json[
            "id"
        ]
        for _ in range(2)
    ]
    closed = api.post(
        f"/v1/coaching-requests/{ids[1]}/closure",
        json={"outcome": "crisis_supported", "duration_minutes": 10},
        headers=as_clinician(auth, "pat"),
    )
    assert closed.status_code == 200, closed.json
    again = api.post("/v1/coaching-requests", json={"kind": "crisis"}, headers=as_client(auth))
    assert again.status_code == 201 and len(created_events(components)) == 3


# -- the limit on other requests ---------------------------------------------------------------
def test_non_crisis_requests_are_limited_per_client_but_the_crisis_path_never(
    api, auth, components, clock
):
    api.put(f"/v1/sites/{SITE}/rota", json=rota(), headers=auth("coordinator", SITE))
    for n in range(6):
        made = api.post("/v1/coaching-requests", json={"kind": "skills"}, headers=as_client(auth))
        assert made.status_code == 201, (n, made.json)
    refused = api.post(
        "/v1/coaching-requests", json={"kind": "relationship"}, headers=as_client(auth)
    )
    assert refused.status_code == 429
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert refused.json["type"].endswith("/request-limit")
    assert int(refused.headers["Retry-After"]) == 3600 - NOW.minute * 60  # to the next hour
    crisis = api.post("/v1/coaching-requests", json={"kind": "crisis"}, headers=as_client(auth))
    assert crisis.status_code == 201 and crisis.json["emergency_route"]
    other = api.post(
        "/v1/coaching-requests", json={"kind": "skills"}, headers=as_client(auth, "client-2")
    )
    assert other.status_code == 201  # the limit is the client's own
    clock.advance(timedelta(seconds=int(refused.headers["Retry-After"])))
    later = api.post("/v1/coaching-requests", json={"kind": "skills"}, headers=as_client(auth))
    assert later.status_code == 201


def test_the_site_sets_the_limit(api, auth):
    hours = api.get(f"/v1/sites/{SITE}/coaching-hours", headers=auth("coordinator", SITE)).json
    assert hours["request_limit_per_hour"] == 6 and hours["crisis_repeat_minutes"] == 5
    changed = api.put(
        f"/v1/sites/{SITE}/coaching-hours",
        json={"hours": hours["hours"], "request_limit_per_hour": 2},
        headers=auth("coordinator", SITE),
    )
    assert changed.status_code == 200 and changed.json["request_limit_per_hour"] == 2
    codes = [
        api.post("/v1/coaching-requests", json={"kind": "skills"}, headers=as_client(auth))
        for _ in range(3)
    ]
    assert [c.status_code for c in codes] == [201, 201, 429]


def test_the_limit_holds_across_api_processes_and_concurrent_requests(api_env, auth, clock):
    components = seed(clock)
    # Two apps on one store: two api processes on one database. The count is in the store.
    apps = [create_app(components), create_app(components)]
    codes: list[int] = []
    guard = threading.Lock()

    def ask(n: int) -> None:
        client = apps[n % 2].test_client()
        answer = client.post(
            "/v1/coaching-requests", json={"kind": "skills"}, headers=as_client(auth)
        )
        with guard:
            codes.append(answer.status_code)

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [201] * 6 + [429] * 10
    assert len(components.repositories.requests.documents) == 6
    assert components.repositories.pace.get("hour:client-1")["count"] == 6


def test_the_pace_is_kept_one_document_per_client(api, auth, components):
    for _ in range(3):
        api.post("/v1/coaching-requests", json={"kind": "skills"}, headers=as_client(auth))
        api.post("/v1/coaching-requests", json={"kind": "crisis"}, headers=as_client(auth))
    # grows with the clients, not with the requests or the hours
    assert sorted(components.repositories.pace.documents) == ["crisis:client-1", "hour:client-1"]
