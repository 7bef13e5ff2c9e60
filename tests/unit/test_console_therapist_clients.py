"""The therapist's clients in the console: a client's page with the diary week, the alliance and
shared goals, the caseload (the 24-hour rule and ruptures first), the after-hours load against
the team.
"""

# ruff: noqa: F811 (the tests take the fixtures imported from console_therapist_support)
from __future__ import annotations

import json
import re

from console_therapist_support import SITE, clock, csrf, services, signed_in, text  # noqa: F401

from console.testing import page, problem

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
