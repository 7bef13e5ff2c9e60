"""What the group facilitator's page tests share, on the console's in-memory wiring (Flask's
test client, the services faked at their HTTP): a site with a group, its sessions, clinicians
and members as the services answer them (the ``services`` fixture, which the test modules
import), signing in, and reading a page. Used by ``test_console_groups``,
``test_console_group_changes`` and ``test_console_attendance_sheet``."""

from __future__ import annotations

import html as html_text
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from console import bootstrap
from console.app import create_app
from console.testing import FakeProvider, FakeServices, page

SITE = "site-a"
GROUP = "grp-1"
OTHER = "grp-2"
S1, S2, S3 = "ses-1", "ses-2", "ses-3"
MARISOL, ANA, WAITING = "cli-marisol", "cli-ana", "cli-wait"


def session(sid, index, day, start, module="M", week=1, entry=False, status="scheduled"):
    return {
        "id": sid,
        "group_id": GROUP,
        "site_id": SITE,
        "index": index,
        "cycle": 1,
        "date": day,
        "local_start": "18:00",
        "starts_at": start,
        "module": module,
        "module_week": week,
        "is_entry_point": entry,
        "status": status,
        "room": "Room 2",
        "sequence": 0,
    }


# the clock of the page tests: 2026-03-03 15:00 UTC, 09:00 in Chicago
SESSIONS = [
    session(S1, 0, "2026-02-24", "2026-02-25T00:00:00+00:00", entry=True),
    session(S2, 1, "2026-03-03", "2026-03-03T14:30:00+00:00", week=2),
    session(S3, 2, "2026-03-10", "2026-03-10T23:00:00+00:00", module="DT", status="rescheduled"),
]
GROUP_BODY = {
    "id": GROUP,
    "site_id": SITE,
    "program_id": f"{SITE}:adult",
    "name": "Tuesday evening",
    "weekday": "tue",
    "start_time": "18:00",
    "duration_minutes": 150,
    "room": "Room 2",
    "facilitator_ids": ["clin-fiona", "clin-ben"],
    "co_leader_missing": False,
    "starts_on": "2026-02-24",
    "curriculum": "M2 DT6 M2 ER6 M2 IE6",
    "cycles": 1,
    "capacity": 2,
}
CLINICIANS = {
    "items": [
        {
            "id": "clin-fiona",
            "subject": "fiona",
            "display_name": "Fiona Facilitator",
            "roles": ["facilitator"],
        },
        {
            "id": "clin-ben",
            "subject": "ben",
            "display_name": "Ben Leader",
            "roles": ["facilitator"],
        },
        {
            "id": "clin-theo",
            "subject": "theo",
            "display_name": "Theo Therapist",
            "roles": ["therapist"],
            "phone": "+13125550199",
            "email": "theo@clinic.example.org",
        },
    ],
    "next_cursor": None,
}
ENROLLMENTS = [
    {
        "id": "enr-m",
        "client_id": MARISOL,
        "group_id": GROUP,
        "status": "active",
        "first_index": 0,
        "until_index": 24,
        "consecutive_misses": 3,
        "at_risk": True,
        "therapist_id": "clin-theo",
    },
    {
        "id": "enr-a",
        "client_id": ANA,
        "group_id": GROUP,
        "status": "active",
        "first_index": 0,
        "until_index": 24,
        "consecutive_misses": 0,
        "at_risk": False,
    },
]


@pytest.fixture
def services():
    fake = FakeServices(bootstrap.settings_for_tests().service_urls)
    fake.on("GET", "intake", "/v1/sites", {"items": [{"id": SITE, "name": "North"}]})
    fake.on("GET", "intake", f"/v1/sites/{SITE}", {"id": SITE, "timezone": "America/Chicago"})
    fake.on("GET", "intake", f"/v1/sites/{SITE}/clinicians", CLINICIANS)
    fake.on(
        "GET",
        "intake",
        f"/v1/sites/{SITE}/programs",
        {"items": [{"id": f"{SITE}:adult", "kind": "adult"}]},
    )
    fake.on(
        "POST",
        "intake",
        "/v1/clients/display-names",
        lambda _q, body: {
            "items": [
                {"client_id": i, "display_name": n}
                for i, n in (
                    (MARISOL, "Marisol Quintanilla"),
                    (ANA, "Ana Ortiz"),
                    (WAITING, "Wes Waiting"),
                )
                if i in body["client_ids"]
            ]
        },
    )
    fake.on(
        "POST",
        "intake",
        "/v1/clinicians/display-names",
        lambda _q, body: {
            "items": [
                {**c, "clinician_id": c["id"], "site_id": SITE}
                for c in CLINICIANS["items"]
                if c["id"] in body["clinician_ids"]
            ]
        },
    )
    fake.on(
        "GET",
        "skills-group",
        "/v1/groups",
        page(
            [
                GROUP_BODY,
                {**GROUP_BODY, "id": OTHER, "name": "Thursday", "facilitator_ids": ["clin-ben"]},
            ]
        ),
    )
    fake.on("GET", "skills-group", f"/v1/groups/{GROUP}", GROUP_BODY)
    fake.on("GET", "skills-group", f"/v1/groups/{GROUP}/sessions", page(SESSIONS))
    fake.on("GET", "skills-group", f"/v1/groups/{GROUP}/enrollments", page(ENROLLMENTS))
    fake.on(
        "GET",
        "skills-group",
        f"/v1/groups/{GROUP}/waitlist",
        page(
            [
                {
                    "client_id": WAITING,
                    "program_id": f"{SITE}:adult",
                    "fits": True,
                    "reason": "no_free_seat",
                    "waiting_since": "2026-02-01T10:00:00+00:00",
                }
            ]
        ),
    )
    fake.on(
        "GET",
        "skills-group",
        f"/v1/sites/{SITE}/closures",
        page(
            [
                {
                    "site_id": SITE,
                    "date": "2026-03-10",
                    "reason": "Staff training",
                    "effect": "shifted",
                    "session_id": S3,
                },
                {
                    "site_id": SITE,
                    "date": "2026-03-11",
                    "reason": "Other day",
                    "effect": None,
                    "session_id": None,
                },
            ]
        ),
    )
    fake.on("GET", "skills-group", "/v1/calendar-feeds", {"items": [], "next_cursor": None})
    return fake


def sign_in(clock, services, roles=("facilitator",), sub="fiona"):
    provider = FakeProvider(clock)
    provider.sign_in_as("Fiona Facilitator", list(roles), [SITE], sub=sub)
    client = create_app(bootstrap.in_memory(clock, provider, services)).test_client()
    started = client.get("/auth/sign-in")
    state = parse_qs(urlsplit(started.headers["Location"]).query)["state"][0]
    client.get(f"/auth/callback?code=c&state={state}")
    return client


def text(html: str) -> str:
    return html_text.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def calls_to(services, method, path):
    return [c for c in services.calls if c["method"] == method and c["path"] == path]
