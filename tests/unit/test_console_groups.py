"""The group facilitator's pages on the console's in-memory wiring (Flask's test client, the
services faked at their HTTP): my groups, scheduling with the calendar previewed, a group's
page, one session rescheduled or cancelled, members removed, the calendar link, and the
attendance sheet saved member by member (htmx rows, plain forms without JS)."""

from __future__ import annotations

import html as html_text
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from console import bootstrap
from console.app import create_app
from console.testing import FakeProvider, FakeServices, page, problem

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


# -- my groups and the group's page --------------------------------------------------------------
def test_a_facilitator_lands_on_the_groups_she_leads(clock, services):
    client = sign_in(clock, services)

    page = client.get("/home", follow_redirects=True).get_data(as_text=True)

    shown = text(page)
    assert "My groups" in shown
    assert shown.index("Groups I lead") < shown.index("Tuesday evening")
    assert shown.index("The site's other groups") < shown.index("Thursday")
    assert "Fiona Facilitator, Ben Leader" in shown
    assert len(calls_to(services, "GET", "/v1/groups")) == 1  # one call per site, not per row


def test_the_group_page_shows_calendar_closures_roster_runs_seats_and_who_waits(clock, services):
    client = sign_in(clock, services)

    answer = client.get(f"/groups/{GROUP}")

    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    html = answer.get_data(as_text=True)
    shown = text(html)
    assert "Take attendance for today's session" in shown
    assert f"/groups/{GROUP}/sessions/{S2}/attendance" in html  # today's, in Chicago
    assert "Mindfulness, week 1 Entry point" in shown and "Distress tolerance, week 1" in shown
    assert "2026-03-10 (Staff training): moved this session and every later one" in shown
    assert "Other day" not in shown  # a closure that touched nothing of this group
    assert "Marisol Quintanilla" in shown and re.search(r"3\s+At risk", shown)
    assert "0 of 2 seats free" in shown
    assert "Wes Waiting" in shown and "Admit to a free seat" not in shown  # no seat to give
    assert "Undo the closure" not in shown  # coordinators undo closures
    (names,) = calls_to(services, "POST", "/v1/clients/display-names")
    assert set(names["body"]["client_ids"]) == {MARISOL, ANA, WAITING}  # one call for the page
    for link in re.findall(r'(?:href|action)="([^"]+)"', html):
        assert "cli-" not in link  # no client in any address


def test_a_waiting_client_is_admitted_to_a_free_seat_by_a_form_post(clock, services):
    services.on("GET", "skills-group", f"/v1/groups/{GROUP}", {**GROUP_BODY, "capacity": 3})
    services.on("POST", "skills-group", f"/v1/groups/{GROUP}/enrollments", {"id": "enr-w"})
    client = sign_in(clock, services)
    html = client.get(f"/groups/{GROUP}").get_data(as_text=True)
    assert "1 of 3 seats free" in text(html) and "Admit to a free seat" in text(html)

    answer = client.post(
        f"/groups/{GROUP}/admissions", data={"csrf_token": csrf_of(html), "client_id": WAITING}
    )

    assert answer.status_code == 303
    (posted,) = calls_to(services, "POST", f"/v1/groups/{GROUP}/enrollments")
    assert posted["body"] == {"client_id": WAITING}


# -- scheduling ----------------------------------------------------------------------------------
FORM = {
    "site_id": SITE,
    "program_id": f"{SITE}:adult",
    "name": "Wednesday",
    "weekday": "wed",
    "start_time": "18:00",
    "duration_minutes": "150",
    "room": "Room 2",
    "facilitator_ids[0]": "clin-fiona",
    "facilitator_ids[1]": "clin-ben",
    "starts_on": "2026-04-01",
    "cycles": "1",
    "capacity": "",
}
PREVIEW = {
    "curriculum": "M2 DT6",
    "capacity": 8,
    "sessions": [
        {**session(None, 0, "2026-04-01", "2026-04-01T23:00:00+00:00", entry=True)},
        {**session(None, 1, "2026-04-15", "2026-04-15T23:00:00+00:00", week=2)},
    ],
    "conflicts": [
        {"date": "2026-04-01", "index": 0, "kind": "room", "session_id": "x", "group_id": OTHER},
        {
            "date": "2026-04-01",
            "index": 0,
            "kind": "facilitator",
            "session_id": "x",
            "group_id": OTHER,
            "facilitator_id": "clin-ben",
        },
    ],
    "closures": [{"date": "2026-04-08", "reason": "Easter", "effect": "shifted", "index": 1}],
}


def test_the_calendar_and_its_conflicts_are_shown_before_anything_is_saved(clock, services):
    services.on("POST", "skills-group", "/v1/group-previews", PREVIEW)
    client = sign_in(clock, services)
    form = client.get(f"/groups/new?site={SITE}").get_data(as_text=True)

    answer = client.post(
        "/groups/new", data={**FORM, "action": "preview", "csrf_token": csrf_of(form)}
    )

    shown = text(answer.get_data(as_text=True))
    assert answer.status_code == 200
    assert "2 conflicts" in shown and "the room is taken by another group" in shown
    assert "Ben Leader leads another group then" in shown
    assert "2026-04-08 (Easter): session 2 moves a week on" in shown
    assert "Room taken" in shown and "Entry point" in shown
    assert calls_to(services, "POST", "/v1/groups") == []  # nothing saved
    (sent,) = calls_to(services, "POST", "/v1/group-previews")
    assert sent["body"]["facilitator_ids"] == ["clin-fiona", "clin-ben"]
    assert sent["body"]["duration_minutes"] == 150 and "capacity" not in sent["body"]


def test_saving_a_group_opens_its_page_and_a_refusal_lands_at_its_field(clock, services):
    services.on("POST", "skills-group", "/v1/groups", {**GROUP_BODY, "id": "grp-new"})
    client = sign_in(clock, services)
    token = csrf_of(client.get("/groups/new").get_data(as_text=True))

    saved = client.post("/groups/new", data={**FORM, "action": "save", "csrf_token": token})
    assert saved.status_code == 303 and saved.headers["Location"] == "/groups/grp-new"

    services.on(
        "POST",
        "skills-group",
        "/v1/groups",
        problem(422, "invalid", [{"field": "start_time", "message": "Use 24-hour HH:MM."}]),
    )
    refused = client.post(
        "/groups/new", data={**FORM, "start_time": "6pm", "action": "save", "csrf_token": token}
    )
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert re.search(r'id="f-start-time-error"[^>]*>.*Use 24-hour HH:MM\.', html, re.S)
    assert 'value="6pm"' in html  # what was typed is kept
    without_csrf = client.post("/groups/new", data={**FORM, "action": "save"})
    assert without_csrf.status_code == 400
    assert len(calls_to(services, "POST", "/v1/groups")) == 2


def test_the_next_cycle_starts_the_day_after_the_last_session_with_the_same_leaders(
    clock, services
):
    client = sign_in(clock, services)

    html = client.get(f"/groups/new?after={GROUP}").get_data(as_text=True)

    assert 'value="2026-03-11"' in html and 'value="Tuesday evening (next cycle)"' in html
    assert re.search(r'<option value="clin-ben" selected>', html)


# -- one session ---------------------------------------------------------------------------------
def test_one_session_is_rescheduled_in_the_sites_time_or_cancelled_with_a_reason(clock, services):
    services.on("PATCH", "skills-group", f"/v1/sessions/{S3}", SESSIONS[2])
    services.on("POST", "skills-group", f"/v1/sessions/{S3}/cancellation", SESSIONS[2])
    client = sign_in(clock, services)
    page = client.get(f"/groups/{GROUP}/sessions/{S3}").get_data(as_text=True)
    assert "Only this session changes" in text(page)
    token = csrf_of(page)

    moved = client.post(
        f"/groups/{GROUP}/sessions/{S3}/reschedule",
        data={"csrf_token": token, "date": "2026-03-12", "time": "17:30", "room": "Room 2"},
    )

    assert moved.status_code == 303
    (patched,) = calls_to(services, "PATCH", f"/v1/sessions/{S3}")
    assert patched["body"] == {"starts_at": "2026-03-12T17:30:00-05:00"}  # Chicago, after DST
    bad = client.post(
        f"/groups/{GROUP}/sessions/{S3}/reschedule",
        data={"csrf_token": token, "date": "12/03", "time": "17:30", "room": "Room 2"},
    )
    assert bad.status_code == 422 and "Enter a real date" in text(bad.get_data(as_text=True))
    no_reason = client.post(
        f"/groups/{GROUP}/sessions/{S3}/cancellation", data={"csrf_token": token, "reason": ""}
    )
    assert no_reason.status_code == 422
    assert "Give the reason for cancelling" in text(no_reason.get_data(as_text=True))
    assert calls_to(services, "POST", f"/v1/sessions/{S3}/cancellation") == []
    client.post(
        f"/groups/{GROUP}/sessions/{S3}/cancellation",
        data={"csrf_token": token, "reason": "Facilitator ill"},
    )
    (cancelled,) = calls_to(services, "POST", f"/v1/sessions/{S3}/cancellation")
    assert cancelled["body"] == {"reason": "Facilitator ill"}


# -- members -------------------------------------------------------------------------------------
def test_a_member_is_removed_with_a_reason_or_the_refusal_is_shown_at_the_field(clock, services):
    client = sign_in(clock, services)
    page = client.get(f"/groups/{GROUP}/members/enr-m").get_data(as_text=True)
    shown = text(page)
    assert "Marisol Quintanilla" in shown and "At risk: one miss from the limit" in shown
    assert 'href="tel:+13125550199"' in page  # outreach through the therapist, one click
    token = csrf_of(page)
    services.on(
        "POST",
        "skills-group",
        "/v1/enrollments/enr-m/removal",
        problem(
            422, "invalid", [{"field": "reason", "message": "Missing data for required field."}]
        ),
    )

    refused = client.post(f"/groups/{GROUP}/members/enr-m/removal", data={"csrf_token": token})

    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert re.search(r'id="removal-f-reason-error"[^>]*>.*Give the reason', html, re.S)
    assert 'href="#removal-f-reason"' in html
    services.on("POST", "skills-group", "/v1/enrollments/enr-m/removal", {"id": "enr-m"})
    removed = client.post(
        f"/groups/{GROUP}/members/enr-m/removal", data={"csrf_token": token, "reason": "Moved"}
    )
    assert removed.status_code == 303
    assert calls_to(services, "POST", "/v1/enrollments/enr-m/removal")[-1]["body"] == {
        "reason": "Moved"
    }


def test_a_member_moved_to_a_full_group_says_so_and_stays(clock, services):
    services.on(
        "POST",
        "skills-group",
        "/v1/enrollments/enr-m/transfer",
        problem(409, "The group is full at that entry point."),
    )
    client = sign_in(clock, services)
    token = csrf_of(client.get(f"/groups/{GROUP}/members/enr-m").get_data(as_text=True))

    answer = client.post(
        f"/groups/{GROUP}/members/enr-m/transfer",
        data={"csrf_token": token, "group_id": OTHER, "reason": "Evenings"},
    )

    assert answer.status_code == 409
    assert "The group is full at that entry point." in text(answer.get_data(as_text=True))


# -- the calendar link ---------------------------------------------------------------------------
def test_the_calendar_link_is_shown_once_never_in_an_address_and_can_be_revoked(clock, services):
    secret_url = "http://skills-group.test/calendar/s3cr3t.ics"
    services.on("POST", "skills-group", "/v1/calendar-feeds", {"id": "feed-1", "url": secret_url})
    client = sign_in(clock, services)
    token = csrf_of(client.get(f"/groups/{GROUP}").get_data(as_text=True))

    made = client.post(f"/groups/{GROUP}/feed", data={"csrf_token": token})

    assert made.status_code == 303 and "s3cr3t" not in made.headers["Location"]
    assert secret_url in client.get(made.headers["Location"]).get_data(as_text=True)
    assert secret_url not in client.get(f"/groups/{GROUP}").get_data(as_text=True)  # once
    services.on(
        "GET",
        "skills-group",
        "/v1/calendar-feeds",
        {"items": [{"id": "feed-1", "group_id": GROUP, "created_at": "2026-03-03T15:00:00"}]},
    )
    services.on("DELETE", "skills-group", "/v1/calendar-feeds/feed-1", None)
    assert "Revoke" in text(client.get(f"/groups/{GROUP}").get_data(as_text=True))
    client.post(f"/groups/{GROUP}/feed/revocation", data={"csrf_token": token, "feed_id": "feed-1"})
    assert len(calls_to(services, "DELETE", "/v1/calendar-feeds/feed-1")) == 1


# -- attendance ----------------------------------------------------------------------------------
ROSTER = [
    {
        "client_id": MARISOL,
        "enrollment_id": "enr-m",
        "status": "absent",
        "consecutive_misses": 2,
        "miss_limit": 4,
        "at_risk": False,
        "minutes_late": None,
        "reason": None,
    },
    {
        "client_id": ANA,
        "enrollment_id": "enr-a",
        "status": None,
        "consecutive_misses": 0,
        "miss_limit": 4,
        "at_risk": False,
        "minutes_late": None,
        "reason": None,
    },
]


def test_the_sheet_saves_one_member_as_it_is_set_and_marks_the_third_miss(clock, services):
    services.on("GET", "skills-group", f"/v1/sessions/{S2}/roster", page(ROSTER))
    services.on(
        "PUT",
        "skills-group",
        f"/v1/sessions/{S2}/attendance",
        {
            "session_id": S2,
            "records": [{"client_id": MARISOL, "status": "absent"}],
            "members": [
                {"client_id": MARISOL, "consecutive_misses": 3, "at_risk": True, "status": "active"}
            ],
        },
    )
    client = sign_in(clock, services)
    sheet = client.get(f"/groups/{GROUP}/sessions/{S2}/attendance").get_data(as_text=True)
    assert text(sheet).count("Present") == 2 and "At risk" not in text(sheet)
    assert 'hx-trigger="change"' in sheet and 'id="m-enr-m-absent"' in sheet

    row = client.post(
        f"/groups/{GROUP}/sessions/{S2}/attendance",
        data={
            "client_id": MARISOL,
            "enrollment_id": "enr-m",
            "name": "Marisol Quintanilla",
            "miss_limit": "4",
            "status": "absent",
        },
        headers={"HX-Request": "true", "X-CSRF-Token": csrf_of(sheet)},
    )

    fragment = row.get_data(as_text=True)
    assert row.status_code == 200 and "<html" not in fragment
    assert fragment.strip().startswith('<div class="console-member" id="m-enr-m"')
    assert "At risk: one miss from the limit" in text(fragment) and "Saved" in text(fragment)
    assert "Misses in a row: 3 of 4" in text(fragment)
    assert "/groups/grp-1/members/enr-m#outreach" in fragment  # outreach, one click
    (put,) = calls_to(services, "PUT", f"/v1/sessions/{S2}/attendance")
    assert put["body"] == {"records": [{"client_id": MARISOL, "status": "absent"}]}  # one member


def test_without_js_a_row_posts_and_the_sheet_returns_and_late_needs_its_minutes(clock, services):
    services.on("GET", "skills-group", f"/v1/sessions/{S2}/roster", page(ROSTER))
    services.on(
        "PUT",
        "skills-group",
        f"/v1/sessions/{S2}/attendance",
        {"session_id": S2, "records": [], "members": []},
    )
    client = sign_in(clock, services)
    token = csrf_of(client.get(f"/groups/{GROUP}/sessions/{S2}/attendance").get_data(as_text=True))
    base = {"csrf_token": token, "client_id": ANA, "enrollment_id": "enr-a", "name": "Ana Ortiz"}

    late = client.post(f"/groups/{GROUP}/sessions/{S2}/attendance", data={**base, "status": "late"})

    html = late.get_data(as_text=True)
    assert late.status_code == 422 and "Ana Ortiz: Enter how many minutes late" in text(html)
    assert 'id="m-enr-a-late" name="status" type="radio" value="late" checked' in html
    assert calls_to(services, "PUT", f"/v1/sessions/{S2}/attendance") == []  # nothing sent
    saved = client.post(
        f"/groups/{GROUP}/sessions/{S2}/attendance",
        data={**base, "status": "late", "minutes_late": "10"},
    )
    assert saved.status_code == 303
    assert saved.headers["Location"] == f"/groups/{GROUP}/sessions/{S2}/attendance#m-enr-a"
    (put,) = calls_to(services, "PUT", f"/v1/sessions/{S2}/attendance")
    assert put["body"]["records"] == [{"client_id": ANA, "status": "late", "minutes_late": 10}]
