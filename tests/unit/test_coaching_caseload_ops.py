"""Coaching's reads for the therapist's console (Flask's test client, in-memory wiring, real
tokens): personal diary targets in the client's own words, the caseload, a diary week day by
day, the 24-hour rule's state, after-hours contacts against the team's median, and the rota
across the nights the clocks change."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from coaching import bootstrap
from coaching.app import create_app
from coaching.domain import rota
from coaching.services import directory
from dbt_shared.clock import FixedClock

SITE, OTHER = "site-a", "site-b"
PROGRAM = "prog-a"
# Tuesday 2026-03-03 18:00 in New York: after business hours, inside the coaching hours.
NOW = datetime(2026, 3, 3, 23, 0, tzinfo=UTC)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


@pytest.fixture
def clock():
    return FixedClock(NOW)


def audit_entries(components, action):
    return [r for r in components.repositories.audit.entries if r["action"] == action]


@pytest.fixture
def components(clock):
    return _seeded(clock)


def _seeded(clock):
    c = bootstrap.in_memory(clock)
    r = c.repositories
    r.sites.insert({"_id": SITE, "timezone": "America/New_York"})
    r.sites.insert({"_id": OTHER, "timezone": "UTC"})
    settings = {"coaching_ack_target_minutes": 15, "twenty_four_hour_rule": True}
    r.programs.insert({"_id": PROGRAM, "site_id": SITE, "kind": "adult", "settings": settings})
    for cid in ("tess", "pat", "bea", "otto"):
        directory.on_clinician_registered(
            {
                "clinician_id": cid,
                "site_id": OTHER if cid == "otto" else SITE,
                "subject": f"sub-{cid}",
                "roles": ["therapist"],
            },
            c,
        )
    for client, therapist in (("client-1", "tess"), ("client-2", "pat"), ("client-3", "tess")):
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
def api(api_env, components):
    return create_app(components).test_client()


def as_client(auth, client_id="client-1"):
    return auth("client", [], client_id)


def as_clinician(auth, cid, site=SITE):
    return auth("therapist", site, f"sub-{cid}")


def test_a_personal_target_in_the_clients_own_words_is_kept_sealed_and_summarised(
    api, auth, components
):
    card = {
        "date": "2026-03-03",
        "urges": [
            {"target": "licorice binge", "rating": 3, "acted": True},
            {"target": "self_harm", "rating": 1, "acted": False},
        ],
        "distress": 5,
    }
    answer = api.post("/v1/diary-cards", json=card, headers=as_client(auth))
    assert answer.status_code == 201, answer.json
    assert answer.json["urges"][0]["target"] == "licorice binge"
    stored = components.repositories.cards.documents["client-1:2026-03-03"]
    assert "licorice" not in str(stored)  # sealed at rest like the rest of the card
    summary = api.get(
        "/v1/clients/client-1/diary-summary?week=2026-W10", headers=as_clinician(auth, "tess")
    ).json
    assert summary["urges"]["licorice binge"] == {"average": 3.0, "max": 3, "days_acted": 1}
    assert answer.json["risk_flagged"] is False  # a personal target is no risk rule's code


def test_a_target_twice_in_other_case_or_a_line_break_is_refused_at_its_field(
    api, auth, components
):
    twice = {
        "date": "2026-03-03",
        "urges": [
            {"target": "Licorice binge", "rating": 3, "acted": True},
            {"target": "licorice  binge", "rating": 2, "acted": False},
        ],
        "distress": 5,
    }
    answer = api.post("/v1/diary-cards", json=twice, headers=as_client(auth))
    assert answer.status_code == 422
    assert [e["field"] for e in answer.json["errors"]] == ["urges"]
    broken = {**twice, "urges": [{"target": "licorice\nbinge", "rating": 1, "acted": False}]}
    answer = api.post("/v1/diary-cards", json=broken, headers=as_client(auth))
    assert answer.status_code == 422
    assert answer.json["errors"][0]["field"] == "urges[0].target"
    assert components.repositories.cards.documents == {}


def test_the_caseload_lists_a_therapists_own_clients_with_the_rules_state(api, auth, components):
    harmed = api.post(
        "/v1/clients/client-1/self-harm-records",
        json={"occurred_at": "2026-03-03T20:00:00+00:00"},
        headers=as_clinician(auth, "tess"),
    )
    assert harmed.status_code == 201, harmed.json
    mine = api.get("/v1/caseload", headers=as_clinician(auth, "tess"))
    assert mine.status_code == 200, mine.json
    assert mine.json["clinicians"] == [{"id": "tess", "site_id": SITE}]
    by_client = {x["client_id"]: x for x in mine.json["items"]}
    assert sorted(by_client) == ["client-1", "client-3"]
    rule = by_client["client-1"]["twenty_four_hour_rule"]
    assert rule["active"] is True and rule["until"] == "2026-03-04T20:00:00+00:00"
    assert by_client["client-3"]["twenty_four_hour_rule"]["active"] is False
    assert [
        x["client_id"]
        for x in api.get("/v1/caseload", headers=as_clinician(auth, "pat")).json["items"]
    ] == ["client-2"]
    assert api.get("/v1/caseload", headers=as_clinician(auth, "otto", OTHER)).json["items"] == []
    record = audit_entries(components, "caseload.read")[0]  # tess's read, before pat's
    assert sorted(record["object_ids"]) == ["client-1", "client-3"]

    state = api.get(
        "/v1/clients/client-1/twenty-four-hour-rule", headers=as_clinician(auth, "tess")
    )
    assert state.status_code == 200 and state.json["active"] is True
    assert (
        api.get(
            "/v1/clients/client-1/twenty-four-hour-rule", headers=as_clinician(auth, "pat")
        ).status_code
        == 404
    )
    assert "safety_state.read" in components.repositories.audit.actions()


def test_a_diary_week_comes_day_by_day_to_the_client_and_their_therapist_only(
    api, auth, components
):
    for day, distress, acted in (("2026-03-02", 3, False), ("2026-03-03", 8, True)):
        card = {
            "date": day,
            "emotions": {"sadness": 2 if acted else 1},
            "urges": [{"target": "licorice binge", "rating": 4, "acted": acted}],
            "skills_used": ["tipp"],
            "distress": distress,
        }
        assert api.post("/v1/diary-cards", json=card, headers=as_client(auth)).status_code == 201
    week = api.get(
        "/v1/clients/client-1/diary-cards?week=2026-W10", headers=as_clinician(auth, "tess")
    )
    assert week.status_code == 200, week.json
    days = week.json["days"]
    assert [d["date"] for d in days][:3] == ["2026-03-02", "2026-03-03", "2026-03-04"]
    assert [d["filled"] for d in days] == [True, True, False, False, False, False, False]
    assert [d["distress"] for d in days[:3]] == [3, 8, None]
    assert days[1]["urges"] == [{"target": "licorice binge", "rating": 4, "acted": True}]
    assert "diary_card.week_read" in components.repositories.audit.actions()
    for headers in (as_clinician(auth, "pat"), as_client(auth, "client-2")):
        assert api.get("/v1/clients/client-1/diary-cards", headers=headers).status_code == 404
    bad = api.get("/v1/clients/client-1/diary-cards?week=2026-W60", headers=as_client(auth))
    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "week"


def _contact(api, auth, client_id, clinician, minutes):
    rid = api.post(
        "/v1/coaching-requests", json={"kind": "skills"}, headers=as_client(auth, client_id)
    ).json["id"]
    back = api.post(f"/v1/coaching-requests/{rid}/callback", headers=as_clinician(auth, clinician))
    assert back.status_code == 200, back.json
    closed = api.post(
        f"/v1/coaching-requests/{rid}/closure",
        json={"outcome": "skills_coached", "duration_minutes": minutes},
        headers=as_clinician(auth, clinician),
    )
    assert closed.status_code == 200, closed.json


def test_after_hours_contacts_this_week_and_month_against_the_teams_median(api_env, auth):
    clock = FixedClock(datetime(2026, 3, 1, 23, 0, tzinfo=UTC))  # Sunday, last ISO week
    components = _seeded(clock)
    api = create_app(components).test_client()
    rota_body = {
        "primary": [
            {"clinician_id": "pat", "weekday": d, "start": "00:00", "end": "24:00"}
            for d in rota.WEEKDAYS
        ],
        "backup": [],
    }
    assert (
        api.put(f"/v1/sites/{SITE}/rota", json=rota_body, headers=auth("coordinator", SITE))
    ).status_code == 200
    _contact(api, auth, "client-2", "pat", 10)  # March, but last week
    clock.advance(NOW - clock.now())
    for _ in range(3):
        _contact(api, auth, "client-2", "pat", 10)
    _contact(api, auth, "client-1", "tess", 20)
    mine = api.get("/v1/clinicians/pat/after-hours", headers=as_clinician(auth, "pat"))
    assert mine.status_code == 200, mine.json
    # team at the site: tess 1, pat 3, bea 0 this week (median 1); this month pat 4, tess 1
    assert mine.json["week"]["contacts"] == 3 and mine.json["week"]["minutes"] == 30
    assert mine.json["week"]["team_median_contacts"] == 1.0
    assert mine.json["month"]["contacts"] == 4 and mine.json["month"]["team_median_contacts"] == 1.0
    assert mine.json["team_size"] == 3
    lead = api.get("/v1/clinicians/pat/after-hours", headers=auth("coordinator", SITE))
    assert lead.status_code == 200 and lead.json["week"]["contacts"] == 3
    for headers in (as_clinician(auth, "tess"), as_clinician(auth, "otto", OTHER)):
        assert api.get("/v1/clinicians/pat/after-hours", headers=headers).status_code == 404


@pytest.mark.parametrize(
    ("night", "real_hours"),
    [
        ("2026-03-29", 5),  # London springs forward at 01:00: the 01:30 wall time never shows
        ("2026-10-25", 7),  # London falls back at 02:00: 01:30 comes twice
    ],
)
def test_a_shift_at_0130_on_the_night_the_clocks_change_is_neither_lost_nor_doubled(
    night, real_hours
):
    day = datetime.fromisoformat(night).date()
    weekday = rota.WEEKDAYS[day.weekday()]
    hours = [rota.Window(weekday, "00:00", "06:00")]
    primary = [
        rota.Window(weekday, "00:00", "01:30", "early"),
        rota.Window(weekday, "01:30", "06:00", "late"),
    ]
    backup = [rota.Window(weekday, "00:00", "06:00", "bea")]
    start = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(hours=2)
    spans, gaps = rota.coverage(
        "Europe/London", hours, primary, backup, [], [], start, start + timedelta(days=1)
    )
    assert gaps == []  # nothing lost: no stretch of the night without a primary
    covered = sum((s.end - s.start for s in spans), timedelta())
    assert covered == timedelta(hours=real_hours)  # nothing doubled: each instant once
    late = [s for s in spans if s.primary == "late"]
    assert len(late) == 1  # the 01:30 shift is one stretch, even when 01:30 comes twice
    for a, b in itertools.pairwise(spans):
        assert a.end <= b.start


def test_the_queue_version_changes_with_what_is_in_hand_and_leaves_no_audit_record(
    api, auth, components
):
    coordinator = auth("coordinator", SITE)
    rota_body = {
        "primary": [
            {"clinician_id": "pat", "weekday": d, "start": "17:00", "end": "24:00"}
            for d in WEEKDAYS
        ],
        "backup": [
            {"clinician_id": "bea", "weekday": d, "start": "17:00", "end": "24:00"}
            for d in WEEKDAYS
        ],
    }
    api.put(f"/v1/sites/{SITE}/rota", json=rota_body, headers=coordinator)
    url = f"/v1/sites/{SITE}/coaching-queue-version"
    empty = api.get(url, headers=as_clinician(auth, "pat")).json
    assert empty["in_hand"] == 0
    crisis = api.post("/v1/coaching-requests", json={"kind": "crisis"}, headers=as_client(auth))
    arrived = api.get(url, headers=as_clinician(auth, "pat")).json
    assert arrived["in_hand"] == 1 and arrived["version"] != empty["version"]
    assert api.get(url, headers=as_clinician(auth, "pat")).json == arrived  # still
    rid = crisis.json["id"]
    api.post(f"/v1/coaching-requests/{rid}/acknowledgement", headers=as_clinician(auth, "pat"))
    acked = api.get(url, headers=as_clinician(auth, "pat")).json
    assert acked["in_hand"] == 1 and acked["version"] != arrived["version"]
    # a clinician of another site learns nothing of this site's queue
    assert api.get(url, headers=as_clinician(auth, "otto", OTHER)).status_code in (403, 404)
    audited = len(components.repositories.audit.entries)
    api.get(url, headers=as_clinician(auth, "pat"))
    assert len(components.repositories.audit.entries) == audited  # no client data, no record


def test_the_alliance_gives_each_check_in_its_baseline_and_a_repair_its_note(
    api, auth, components, clock
):
    for ratings in ([10, 10, 9, 9], [10, 10, 10, 8], [8, 7, 7, 8]):
        clock.advance(timedelta(days=7))  # a session a week
        answer = api.post(
            "/v1/alliance-checkins",
            json={"session_kind": "individual", "ratings": ratings},
            headers=as_client(auth),
        )
        assert answer.status_code == 201, answer.json
    rupture_id = answer.json["rupture_id"]
    assert rupture_id
    repaired = api.post(
        f"/v1/ruptures/{rupture_id}/repair",
        json={"note": "Talked about the missed session"},
        headers=as_clinician(auth, "tess"),
    )
    assert repaired.status_code == 200, repaired.json
    alliance = api.get("/v1/clients/client-1/alliance", headers=as_clinician(auth, "tess")).json
    assert [p["baseline"] for p in alliance["series"]] == [None, 38.0, 38.0]
    (done,) = alliance["repaired_ruptures"]
    assert done["note"] == "Talked about the missed session"
    stored = components.repositories.ruptures.documents[rupture_id]
    assert "missed session" not in str(stored)  # the note stays sealed at rest
