"""Changes to a running group in the facilitator's console: one session rescheduled or
cancelled, members removed or moved, the calendar link shown once and revoked.
"""

# ruff: noqa: F811 (the tests take the services fixture imported from console_groups_support)
from __future__ import annotations

import re

from console_groups_support import (
    GROUP,
    OTHER,
    S3,
    SESSIONS,
    calls_to,
    csrf_of,
    services,  # noqa: F401
    sign_in,
    text,
)

from console.testing import problem


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
