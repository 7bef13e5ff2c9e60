"""The group facilitator's pages on the console's in-memory wiring: my groups, a group's page
(calendar, closures, roster runs, seats, who waits, admitting to a free seat), and scheduling
with the calendar previewed.
"""

# ruff: noqa: F811 (the tests take the services fixture imported from console_groups_support)
from __future__ import annotations

import re

from console_groups_support import (
    ANA,
    GROUP,
    GROUP_BODY,
    MARISOL,
    OTHER,
    S2,
    SITE,
    WAITING,
    calls_to,
    csrf_of,
    services,  # noqa: F401
    session,
    sign_in,
    text,
)

from console.testing import problem


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
