"""The therapist's pages on the console's in-memory wiring (Flask's test client, the services
faked at HTTP): the live coaching queue, the on-call rota, the caseload and a client's page with
its charts, and the after-hours load."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from console import bootstrap
from console.app import create_app
from console.client import Answer
from console.testing import FakeProvider, FakeServices, page, problem
from dbt_shared.clock import FixedClock

SITE = "site-a"
NOW = datetime(2026, 3, 3, 23, 0, tzinfo=UTC)
CLINICIANS = {
    "items": [
        {"id": "c-theo", "subject": "sub-theo", "display_name": "Theo Therapist", "site_id": SITE},
        {"id": "c-bea", "subject": "sub-bea", "display_name": "Bea Backup", "site_id": SITE},
    ],
    "next_cursor": None,
}


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture
def services():
    fake = FakeServices(bootstrap.settings_for_tests().service_urls)
    fake.on("GET", "intake", "/v1/sites", {"items": [{"id": SITE, "name": "North"}]})
    fake.on("GET", "intake", f"/v1/sites/{SITE}/clinicians", CLINICIANS)
    fake.on(
        "POST",
        "intake",
        "/v1/clients/display-names",
        lambda _q, body: {
            "items": [
                {
                    "client_id": cid,
                    "display_name": {"cl-1": "Ann Example", "cl-2": "Bo Sample"}[cid],
                }
                for cid in body["client_ids"]
                if cid in ("cl-1", "cl-2")
            ]
        },
    )
    return fake


def signed_in(clock, services, roles=("therapist",), sub="sub-theo"):
    provider = FakeProvider(clock)
    provider.sign_in_as("Theo Therapist", list(roles), [SITE], sub=sub)
    client = create_app(bootstrap.in_memory(clock, provider, services)).test_client()
    started = client.get("/auth/sign-in")
    state = parse_qs(urlsplit(started.headers["Location"]).query)["state"][0]
    client.get(f"/auth/callback?code=c&state={state}")
    return client


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def csrf(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def request_(rid, kind, status="open", client="cl-1", **more):
    return {
        "id": rid,
        "client_id": client,
        "site_id": SITE,
        "kind": kind,
        "status": status,
        "crisis": kind == "crisis",
        "notified": ["c-theo", "c-bea"] if kind == "crisis" else ["c-theo"],
        "routed_to": "c-theo",
        "created_at": (NOW - timedelta(minutes=3)).isoformat(),
        "acknowledge_by": (NOW + timedelta(minutes=12)).isoformat(),
        "call_back_by": (NOW + timedelta(minutes=27)).isoformat(),
        "emergency_route": {"number": "988", "text": "If you are in danger call 988 now."},
        "history": more.pop("history", []),
        **more,
    }


def queue_routes(services, items, version="v1"):
    services.on(
        "GET",
        "coaching",
        f"/v1/sites/{SITE}/coaching-queue-version",
        lambda _q, _b: {"site_id": SITE, "version": version_box[0], "in_hand": len(items)},
    )
    version_box = [version]

    def listed(query, _body):
        return {"items": [r for r in items if r["status"] == query["status"]], "next_cursor": None}

    services.on("GET", "coaching", "/v1/coaching-requests", listed)
    return version_box


def test_the_queue_puts_a_crisis_on_top_with_the_route_deadlines_and_escalations(clock, services):
    items = [
        request_("r-skills", "skills", client="cl-2"),
        request_(
            "r-crisis",
            "crisis",
            created_at=(NOW - timedelta(minutes=1)).isoformat(),
            history=[
                {"what": "created", "at": NOW.isoformat()},
                {
                    "what": "escalated_acknowledgement",
                    "level": 1,
                    "to": "c-bea",
                    "at": NOW.isoformat(),
                },
            ],
        ),
    ]
    queue_routes(services, items)
    client = signed_in(clock, services)
    home = client.get("/home")
    assert home.headers["Location"] == "/coaching"  # a therapist's day starts at the queue
    html = client.get("/coaching").get_data(as_text=True)
    shown = text(html)
    # the crisis request (newer) above the skills request (older)
    assert shown.index("Crisis Ann Example") < shown.index("Skills Bo Sample")
    assert "Emergency route" in shown and "Emergency number: 988" in shown
    assert "escalated to Bea Backup" in shown
    assert html.count('data-countdown="') == 4  # acknowledge and call back, two requests
    assert 'hx-trigger="every 500ms"' in html  # the queue polls by itself
    assert "cl-1" not in urlsplit(re.search(r'hx-get="([^"]+)"', html).group(1)).query
    # one display-names call for the page, never one per row
    assert len([c for c in services.calls if c["path"] == "/v1/clients/display-names"]) == 1


def test_the_poll_swaps_nothing_until_the_queue_changes_and_is_no_activity(clock, services):
    items = []
    version = queue_routes(services, items, "empty")
    client = signed_in(clock, services)
    client.get("/coaching")
    listed = len([c for c in services.calls if c["path"] == "/v1/coaching-requests"])
    quiet = client.get(f"/coaching/queue?site={SITE}&version=empty", headers={"HX-Request": "true"})
    assert quiet.status_code == 204 and quiet.get_data() == b""
    # nothing changed: no list read (each is audited by coaching)
    assert len([c for c in services.calls if c["path"] == "/v1/coaching-requests"]) == listed
    items.append(request_("r-new", "crisis"))
    version[0] = "one-crisis"
    arrived = client.get(
        f"/coaching/queue?site={SITE}&version=empty", headers={"HX-Request": "true"}
    )
    assert arrived.status_code == 200
    fragment = arrived.get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="coaching-queue"') and "<html" not in fragment
    assert "Ann Example" in fragment and "version=one-crisis" in fragment

    # polling for 16 minutes is not activity: the session still ends 15 minutes after the last
    # thing the user did (every page's token is renewed meanwhile)
    for _ in range(15):
        clock.advance(timedelta(minutes=1))
        polled = client.get(
            f"/coaching/queue?site={SITE}&version=one-crisis", headers={"HX-Request": "true"}
        )
        assert polled.status_code == 204
    clock.advance(timedelta(minutes=1))
    ended = client.get(
        f"/coaching/queue?site={SITE}&version=one-crisis", headers={"HX-Request": "true"}
    )
    assert ended.status_code == 401 and "ended=idle" in ended.headers["HX-Redirect"]


def test_acknowledge_is_one_click_and_redraws_the_queue(clock, services):
    items = [request_("r-crisis", "crisis")]
    queue_routes(services, items)

    def acknowledge(_q, _b):
        items[0] = {**items[0], "status": "acknowledged"}
        return items[0]

    services.on("POST", "coaching", "/v1/coaching-requests/r-crisis/acknowledgement", acknowledge)
    client = signed_in(clock, services)
    html = client.get("/coaching").get_data(as_text=True)
    answer = client.post(
        "/coaching/requests/r-crisis/acknowledgement",
        data={"site": SITE},
        headers={"HX-Request": "true", "X-CSRF-Token": csrf(html)},
    )
    assert answer.status_code == 200
    shown = text(answer.get_data(as_text=True))
    assert "Status Acknowledged" in shown and "Acknowledge Ann" not in shown
    assert "Called back" in shown  # the next step is one click too
    # coaching's refusal is said in the queue, at once
    services.on(
        "POST",
        "coaching",
        "/v1/coaching-requests/r-crisis/closure",
        problem(422, "Invalid", [{"field": "duration_minutes", "message": "Not a valid integer."}]),
    )
    closing = client.post(
        "/coaching/requests/r-crisis/closure",
        data={"site": SITE, "outcome": "crisis_supported", "duration_minutes": "abc"},
        headers={"HX-Request": "true", "X-CSRF-Token": csrf(html)},
    )
    assert closing.status_code == 200 and "Not a valid integer." in closing.get_data(as_text=True)


def coverage_london_fall_back():
    # Sunday 25 October 2026, London falls back at 02:00 BST: the night has 25 hours. Coaching
    # hours 00:00-06:00, Theo primary from 01:30 (both 01:30s are his), Bea backup all night,
    # and a hole on Monday 17:00-24:00 with no primary.
    return {
        "site_id": SITE,
        "timezone": "Europe/London",
        "timeline": [
            {
                "start": "2026-10-24T23:00:00+00:00",
                "end": "2026-10-25T00:30:00+00:00",
                "primary": "c-bea",
                "backup": None,
            },
            {
                "start": "2026-10-25T00:30:00+00:00",
                "end": "2026-10-25T06:00:00+00:00",
                "primary": "c-theo",
                "backup": "c-bea",
            },
            {
                "start": "2026-10-26T17:00:00+00:00",
                "end": "2026-10-27T00:00:00+00:00",
                "primary": None,
                "backup": "c-bea",
            },
        ],
        "gaps": [
            {
                "start": "2026-10-24T23:00:00+00:00",
                "end": "2026-10-25T00:30:00+00:00",
                "missing": "backup",
            },
            {
                "start": "2026-10-26T17:00:00+00:00",
                "end": "2026-10-27T00:00:00+00:00",
                "missing": "primary",
            },
        ],
    }


def test_the_rota_week_marks_gaps_my_shifts_and_the_night_the_clocks_change(services):
    clock = FixedClock(datetime(2026, 10, 24, 12, 0, tzinfo=UTC))
    services.on("GET", "coaching", f"/v1/sites/{SITE}/coverage", coverage_london_fall_back())
    services.on(
        "GET",
        "coaching",
        f"/v1/sites/{SITE}/rota",
        {"site_id": SITE, "primary": [], "backup": [], "overrides": [], "time_off": []},
    )
    client = signed_in(clock, services)
    page = client.get(f"/rota?site={SITE}&from=2026-10-25")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    shown = text(html)
    sunday = shown[shown.index("Sunday 25 October") : shown.index("Monday 26 October")]
    assert "Clocks change: 25 hours" in sunday
    # the 01:30 shift shows once, at its wall times, though 01:30 came twice that night
    assert sunday.count("Theo Therapist") == 1
    assert "01:30–06:00 You: primary" in sunday  # noqa: RUF001
    assert "00:00–01:30" in sunday  # noqa: RUF001
    monday = shown[shown.index("Monday 26 October") :]
    assert "Gap 17:00–24:00: no primary" in monday  # noqa: RUF001
    assert 'data-testid="gap-count">2 stretches' in html
    assert "<script>" not in html  # the timeline is SVG drawn by the server, no inline script


def test_time_off_entered_on_the_night_the_clocks_change_is_the_first_0130(services):
    clock = FixedClock(datetime(2026, 10, 24, 12, 0, tzinfo=UTC))
    services.on("GET", "coaching", f"/v1/sites/{SITE}/coverage", coverage_london_fall_back())
    services.on(
        "GET",
        "coaching",
        f"/v1/sites/{SITE}/rota",
        {"site_id": SITE, "primary": [], "backup": [], "overrides": [], "time_off": []},
    )
    services.on(
        "POST",
        "coaching",
        "/v1/clinicians/c-theo/time-off",
        lambda _q, body: Answer(201, {}, {"id": "t1", **body}),
    )
    client = signed_in(clock, services)
    html = client.get(f"/rota?site={SITE}&from=2026-10-25").get_data(as_text=True)
    assert 'name="clinician_id" value="c-theo"' in html  # a therapist enters their own
    answer = client.post(
        "/rota/time-off",
        data={
            "csrf_token": csrf(html),
            "site": SITE,
            "timezone": "Europe/London",
            "clinician_id": "c-theo",
            "date": "2026-10-25",
            "start": "01:30",
            "end": "24:00",
        },
    )
    assert answer.status_code == 303
    (sent,) = [c for c in services.calls if c["path"] == "/v1/clinicians/c-theo/time-off"]
    assert sent["body"] == {
        "from": "2026-10-25T01:30:00+01:00",  # the first 01:30 (BST), as coaching's rota reads it
        "to": "2026-10-26T00:00:00+00:00",
    }


DIARY_WEEK = {
    "client_id": "cl-1",
    "week": "2026-W10",
    "from": "2026-03-02",
    "to": "2026-03-08",
    "days": [
        {
            "date": f"2026-03-0{n + 2}",
            "filled": n < 2,
            "emotions": {"sadness": 2} if n < 2 else {},
            "urges": [{"target": "licorice binge", "rating": 4, "acted": n == 1}] if n < 2 else [],
            "skills_used": ["tipp"] if n < 2 else [],
            "distress": [3, 8][n] if n < 2 else None,
        }
        for n in range(7)
    ],
}
ALLIANCE = {
    "client_id": "cl-1",
    "series": [
        {
            "id": f"k{n}",
            "at": f"2026-02-{10 + n}T18:00:00+00:00",
            "session_kind": "individual",
            "ratings": [],
            "total": total,
            "baseline": base,
        }
        for n, (total, base) in enumerate([(38, None), (38, 38.0), (37, 38.0), (30, 37.7)])
    ],
    "open_ruptures": [
        {
            "id": "rup-1",
            "client_id": "cl-1",
            "checkin_id": "k3",
            "status": "open",
            "reasons": ["below_threshold", "drop_from_baseline"],
            "flagged_at": "2026-02-13T18:00:00+00:00",
        }
    ],
    "repaired_ruptures": [],
}
GOALS = [
    {
        "id": "g1",
        "client_id": "cl-1",
        "title": "Sleep before midnight",
        "status": "active",
        "progress": 40,
        "why": None,
        "note": "Good week",
        "created_at": "2026-02-01T00:00:00+00:00",
        "history": [
            {"at": "2026-02-01T10:00:00+00:00", "by": "cl-1", "changed": ["created"]},
            {"at": "2026-02-08T10:00:00+00:00", "by": "sub-theo", "changed": ["progress"]},
        ],
    }
]


def client_page_routes(services):
    services.on("GET", "coaching", "/v1/clients/cl-1/diary-cards", DIARY_WEEK)
    services.on("GET", "coaching", "/v1/clients/cl-1/alliance", ALLIANCE)
    services.on("GET", "coaching", "/v1/clients/cl-1/goals", page(GOALS))
    services.on(
        "GET",
        "coaching",
        "/v1/clients/cl-1/twenty-four-hour-rule",
        {
            "client_id": "cl-1",
            "applies": True,
            "active": True,
            "self_harm_at": "2026-03-03T20:00:00+00:00",
            "until": "2026-03-04T20:00:00+00:00",
        },
    )
    services.on(
        "GET",
        "skills-group",
        "/v1/clients/cl-1/attendance",
        {
            "client_id": "cl-1",
            "sessions": [
                {"session_id": "s1", "group_id": "g", "status": "absent", "counts_as_miss": True}
            ],
            "consecutive_misses": 1,
            "attendance_rate": 0.5,
        },
    )


def test_a_clients_page_draws_the_diary_week_and_the_alliance_with_tables_behind(clock, services):
    client_page_routes(services)
    client = signed_in(clock, services)
    page = client.get("/caseload/cl-1")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    shown = text(html)
    assert "<title>Client – DBT clinic console</title>" in html  # no client name in the title  # noqa: RUF001
    assert page.headers["Cache-Control"] == "no-store"
    # every script is a file of the platform or a JSON data block: nothing inline runs
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert " src=" in tag or 'type="application/json"' in tag, tag
    diary = json.loads(re.search(r'id="diary-data">(.*?)</script>', html, re.S).group(1))
    assert diary["labels"][:2] == ["Mon 02", "Tue 03"]
    urge = next(s for s in diary["series"] if s["label"].startswith("Urge: Licorice binge"))
    assert urge["values"][:3] == [4, 4, None] and urge["acted"][:2] == [False, True]
    # the ten-second read, and the table that says the same
    assert "2 of 7 days filled in. Highest distress 8 of 10 on Tuesday." in shown
    assert "Acted on: Licorice binge on 1 day." in shown
    assert "Tue 03 8 Licorice binge 4 Acted on Sadness 2 Tipp" in shown
    alliance = json.loads(re.search(r'id="alliance-data">(.*?)</script>', html, re.S).group(1))
    assert alliance["ruptures"] == [3]
    assert alliance["series"][1]["values"] == [None, 38.0, 38.0, 37.7]
    assert "2026-02-13 Individual 30 37.7 Rupture flagged" in shown
    assert "Record the repair" in shown
    assert "24-hour rule" in shown and "wait until 2026-03-04 20:00 UTC" in shown
    assert "the client changed created" in shown and "you changed progress" in shown
    assert "Attendance 50%, 1 miss in a row now." in shown


def test_a_shared_goal_is_changed_with_only_what_was_entered_and_a_conflict_is_said(
    clock, services
):
    client_page_routes(services)
    client = signed_in(clock, services)
    html = client.get("/caseload/cl-1").get_data(as_text=True)
    services.on(
        "PATCH", "coaching", "/v1/clients/cl-1/goals/g1", lambda _q, body: {**GOALS[0], **body}
    )
    saved = client.post(
        "/caseload/cl-1/goals/g1",
        data={
            "csrf_token": csrf(html),
            "progress": "60",
            "progress_was": "40",
            "status": "active",
            "status_was": "active",
            "note": "",
        },
    )
    assert saved.status_code == 303 and saved.headers["Location"].endswith("/caseload/cl-1#goals")
    (patch,) = [c for c in services.calls if c["method"] == "PATCH"]
    assert patch["body"] == {"progress": 60}  # only what changed: the history says so
    services.on(
        "PATCH",
        "coaching",
        "/v1/clients/cl-1/goals/g1",
        problem(409, "The goal changed meanwhile; read it again."),
    )
    clash = client.post(
        "/caseload/cl-1/goals/g1", data={"csrf_token": csrf(html), "progress": "70"}
    )
    assert clash.status_code == 409
    assert "Someone changed this goal meanwhile" in text(clash.get_data(as_text=True))


def test_the_caseload_puts_the_24_hour_rule_and_ruptures_first(clock, services):
    services.on(
        "GET",
        "coaching",
        "/v1/caseload",
        {
            "clinicians": [{"id": "c-theo", "site_id": SITE}],
            "items": [
                {
                    "client_id": "cl-2",
                    "site_id": SITE,
                    "program_id": "p",
                    "therapist_id": "c-theo",
                    "open_ruptures": 0,
                    "twenty_four_hour_rule": {"applies": True, "active": False},
                },
                {
                    "client_id": "cl-1",
                    "site_id": SITE,
                    "program_id": "p",
                    "therapist_id": "c-theo",
                    "open_ruptures": 1,
                    "twenty_four_hour_rule": {
                        "applies": True,
                        "active": True,
                        "until": "2026-03-04T20:00:00+00:00",
                    },
                },
            ],
        },
    )
    client = signed_in(clock, services)
    shown = text(client.get("/caseload").get_data(as_text=True))
    assert shown.index("Ann Example") < shown.index("Bo Sample")
    assert "Holding until 2026-03-04 20:00 UTC" in shown and "1 rupture to repair" in shown


def test_my_load_shows_the_week_and_month_against_the_team_median(clock, services):
    services.on(
        "GET",
        "coaching",
        "/v1/clinicians/c-theo/after-hours",
        {
            "clinician_id": "c-theo",
            "site_id": SITE,
            "team_size": 3,
            "week": {
                "from": "2026-03-02",
                "to": "2026-03-03",
                "contacts": 3,
                "minutes": 45,
                "team_median_contacts": 1.0,
            },
            "month": {
                "month": "2026-03",
                "contacts": 4,
                "minutes": 60,
                "team_median_contacts": 2.0,
            },
        },
    )
    client = signed_in(clock, services)
    page = client.get("/coaching/load")
    shown = text(page.get_data(as_text=True))
    assert "This week (2026-03-02 to 2026-03-03) 3 Above the team median 45 1.0" in shown
    assert "This month (2026-03) 4 Above the team median 60 2.0" in shown
    assert 'id="f-clinician"' not in page.get_data(as_text=True)  # a clinician sees their own only


def test_an_override_with_a_bad_time_is_refused_at_its_field_and_sends_nothing(services):
    clock = FixedClock(datetime(2026, 10, 24, 12, 0, tzinfo=UTC))
    services.on("GET", "coaching", f"/v1/sites/{SITE}/coverage", coverage_london_fall_back())
    services.on(
        "GET",
        "coaching",
        f"/v1/sites/{SITE}/rota",
        {"site_id": SITE, "primary": [], "backup": [], "overrides": [], "time_off": []},
    )
    client = signed_in(clock, services, roles=("coordinator",), sub="sub-carla")
    html = client.get(f"/rota?site={SITE}&from=2026-10-25").get_data(as_text=True)
    assert "Swap or cover a shift" in html
    answer = client.post(
        "/rota/overrides",
        data={
            "csrf_token": csrf(html),
            "site": SITE,
            "timezone": "Europe/London",
            "clinician_id": "c-bea",
            "role": "backup",
            "date": "2026-10-25",
            "start": "17:00",
            "end": "25:00",
        },
    )
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    assert 'href="#ov-end">Enter the end time, for example 24:00' in page
    assert 'id="ov-end-error"' in page and 'id="to-end-error"' not in page
    assert 'value="25:00"' in page  # what was typed is kept
    assert not [c for c in services.calls if c["method"] == "POST" and c["service"] == "coaching"]
