"""The therapist's live coaching queue (a crisis on top, the poll, one-click acknowledge) and the
on-call rota (gaps, my shifts, the night the clocks change, time off, an override refused at
its field).
"""

# ruff: noqa: F811 (the tests take the fixtures imported from console_therapist_support)
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from console_therapist_support import (  # noqa: F401
    NOW,
    SITE,
    clock,
    csrf,
    queue_routes,
    request_,
    services,
    signed_in,
    text,
)

from console.client import Answer
from console.testing import problem
from dbt_shared.clock import FixedClock


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
