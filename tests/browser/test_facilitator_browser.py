"""A group facilitator's week in the console, in a real browser, signed in through Keycloak as
fiona (her site role given through intake's staff directory, as an operator would): her groups,
a group's page, attendance taken member by member until the at-risk mark shows after the third
miss in a row, one session rescheduled and the client's reminder moving with it, the schedule
form's calendar preview; axe on every page."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
from clinic_setup import give_site, password_token
from playwright.sync_api import Page, expect

from support import Api, wait_until

#: The dev realm's user id of fiona (deploy/local/keycloak/realm-dbt.json).
FIONA = "0c1e0000-0000-4000-8000-00000000000c"
ZONE = "Europe/London"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
LOW_RISK = {
    "cssrs": [False] * 6,
    "phq9": [1, 1, 1, 1, 0, 1, 0, 0, 0],
    "gad7": [1, 1, 0, 0, 1, 0, 0],
    "ders16_total": 40,
    "bsl23_mean": 0.8,
}


def _ok(response) -> dict:
    assert response.status_code in (200, 201), response.text
    return response.json()


def _clinician(operator: Api, site_id: str, subject: str, name: str, roles: list[str]) -> str:
    return _ok(
        operator.post(
            f"/v1/sites/{site_id}/clinicians",
            json={
                "subject": subject,
                "display_name": name,
                "roles": roles,
                "programs": ["adult"],
                "languages": ["en"],
                "email": f"{uuid.uuid4().hex[:8]}@clinic.example.org",
                "phone": "+44 20 7946 0999",
            },
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
    )["id"]


def _admit(coordinator: Api, site_id: str, therapist_id: str, weekday: str, family: str) -> str:
    """A referral taken through intake to admission; answers the client id."""
    referral = _ok(
        coordinator.post(
            "/v1/referrals",
            json={
                "site_id": site_id,
                "program": "adult",
                "source": "self",
                "consent_to_contact": True,
                "client": {
                    "given_name": "Marisol",
                    "family_name": family,
                    "date_of_birth": "1994-05-06",
                    "email": f"{family.lower()}@example.org",
                    "phone": "+44 20 7946 0123",
                    "preferred_channel": "email",
                    "language": "en",
                },
            },
        )
    )
    commitment = {
        "orientation_sessions": 2,
        "all_modes": True,
        "four_miss_rule": True,
        "consent_to_treatment": True,
    }
    for path, body in (
        ("screenings", LOW_RISK),
        ("eligibility", {"decision": "eligible", "reason": "meets criteria"}),
        ("orientation", None),
        ("commitment", commitment),
        ("therapist", {"clinician_id": therapist_id}),
        ("admission", {"availability": [{"weekday": weekday, "start": "00:00", "end": "23:59"}]}),
    ):
        _ok(coordinator.post(f"/v1/referrals/{referral['id']}/{path}", json=body))
    return referral["id"]


@pytest.fixture(scope="module")
def week(console, tokens) -> dict:
    """A site where fiona facilitates a group that met four weeks running and meets again in
    three hours; one client, placed from its first session, has not come once."""
    profile = console.profile
    suffix = uuid.uuid4().hex[:6]
    operator = Api(profile.api_url("intake"), tokens.operator())
    site = _ok(
        operator.post(
            "/v1/sites",
            json={
                "name": f"Meadow {suffix}",
                "timezone": ZONE,
                "intake_email": "intake@clinic.example.org",
                "clinical_lead": {"name": "Dr Lena Lead", "email": "lead@clinic.example.org"},
            },
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
    )
    site_id = site["id"]
    program = _ok(operator.post(f"/v1/sites/{site_id}/programs", json={"kind": "adult"}))
    fiona_id = _clinician(operator, site_id, FIONA, "Fiona Fraser", ["facilitator"])
    ben_id = _clinician(operator, site_id, f"ben-{suffix}", "Ben Byrne", ["facilitator"])
    therapist_id = _clinician(operator, site_id, f"tess-{suffix}", "Tess Okafor", ["therapist"])
    give_site(operator, FIONA, "Fiona Fraser", site_id, ["facilitator"])

    coordinator = Api(profile.api_url("skills-group"), tokens.coordinator(site_id))
    wait_until(
        lambda: coordinator.get(f"/v1/sites/{site_id}/programs").json().get("items"),
        timeout=60,
        what="skills-group to learn the program",
    )
    # the group meets on today's weekday three hours from now (site time), since four weeks
    next_meeting = (datetime.now(ZoneInfo(ZONE)) + timedelta(hours=3)).replace(
        second=0, microsecond=0
    )
    body = {
        "site_id": site_id,
        "program_id": program["id"],
        "name": f"Evening skills {suffix}",
        "weekday": DAYS[next_meeting.weekday()],
        "start_time": next_meeting.strftime("%H:%M"),
        "duration_minutes": 90,
        "room": "Room 4",
        "facilitator_ids": [fiona_id, ben_id],
        "starts_on": (next_meeting.date() - timedelta(days=28)).isoformat(),
        "cycles": 1,
    }
    group = wait_until(
        lambda: (lambda r: r if r.status_code != 422 else None)(
            coordinator.post("/v1/groups", json=body)
        ),
        timeout=60,
        what="skills-group to learn the facilitators",
    )
    group = _ok(group)
    intake = Api(profile.api_url("intake"), tokens.coordinator(site_id))
    other_day = DAYS[(next_meeting.weekday() + 3) % 7]  # waits: no group fits the day
    family = f"Quintanilla{suffix}"
    client_id = _admit(intake, site_id, therapist_id, other_day, family)
    sessions = _ok(coordinator.get(f"/v1/groups/{group['id']}/sessions"))["items"]
    wait_until(
        lambda: coordinator.get("/v1/waitlist", params={"site_id": site_id}).json()["items"],
        timeout=60,
        what="skills-group to learn the admitted client",
    )
    _ok(
        coordinator.post(
            f"/v1/groups/{group['id']}/enrollments",
            json={"client_id": client_id, "from_session_id": sessions[0]["id"]},
        )
    )
    # every intake and skills-group worker knows fiona's role at the site before she signs in
    fiona = password_token(profile, "fiona")
    fiona_skills = Api(profile.api_url("skills-group"), fiona)
    wait_until(
        lambda: all(
            fiona_skills.get(f"/v1/groups/{group['id']}").status_code == 200 for _ in range(6)
        ),
        timeout=60,
        what="skills-group applies fiona's membership",
    )
    return {
        "site_id": site_id,
        "group": group,
        "sessions": sessions,
        "client_id": client_id,
        "client_name": f"Marisol {family}",
        "next_meeting": next_meeting,
        "notifications": Api(profile.api_url("notifications"), tokens.coordinator(site_id)),
    }


def open_group(page: Page, week: dict, axe_check) -> None:
    page.goto("/home")
    expect(page.get_by_role("heading", name="My groups", level=1)).to_be_visible()
    axe_check(page)
    page.get_by_role("link", name=week["group"]["name"]).click()
    expect(page.get_by_role("heading", name=week["group"]["name"], level=1)).to_be_visible()
    axe_check(page)


def test_fiona_takes_attendance_and_sees_the_at_risk_mark_after_the_third_miss(
    page: Page, sign_in, axe_check, screenshot, week
):
    sign_in(page, "fiona")
    open_group(page, week, axe_check)
    screenshot(page, "group")
    expect(page.get_by_role("cell", name=week["client_name"], exact=True)).to_be_visible()
    expect(page.get_by_text("Entry point").first).to_be_visible()
    axe_check(page)
    group_url = page.url

    for n, held in enumerate(week["sessions"][:3], start=1):
        page.goto(f"{group_url}/sessions/{held['id']}/attendance")
        axe_check(page)
        member = page.locator(".console-member", has_text=week["client_name"])
        mark = member.locator(".console-at-risk")
        expect(mark).to_have_count(0)
        member.get_by_label("Absent").check()  # htmx saves the row as it changes
        expect(member.locator(".console-saved")).to_have_text("Saved")
        expect(member.locator(".console-run-count")).to_have_text(str(n))
        if n < 3:
            expect(member.locator(".console-at-risk")).to_have_count(0)
    expect(mark).to_have_text("At risk: one miss from the limit")
    expect(member.get_by_role("link", name=re.compile("Reach out"))).to_be_visible()
    axe_check(page)
    screenshot(page, "attendance")
    page.reload()  # stored, not only drawn: the sheet says the same when opened again
    member = page.locator(".console-member", has_text=week["client_name"])
    expect(member.get_by_label("Absent")).to_be_checked()
    expect(member.locator(".console-at-risk")).to_be_visible()
    member.get_by_role("link", name=re.compile("Reach out")).click()
    expect(page.get_by_role("heading", name="Reach out")).to_be_visible()
    axe_check(page)


def test_fiona_reschedules_one_session_and_the_clients_reminder_moves(
    page: Page, sign_in, axe_check, week
):
    upcoming = week["sessions"][4]
    notifications = week["notifications"]

    def reminders() -> list[dict]:
        answer = notifications.get("/v1/deliveries", params={"recipient_id": week["client_id"]})
        assert answer.status_code == 200, answer.text
        return [
            d
            for d in answer.json()["items"]
            if d["purpose"] == "session_reminder"
            and d["status"] == "scheduled"
            and d.get("session_id") == upcoming["id"]
        ]

    before = wait_until(reminders, timeout=60, what="the client's reminders planned")
    due_before = {datetime.fromisoformat(d["due_at"]) for d in before}

    sign_in(page, "fiona")
    open_group(page, week, axe_check)
    later = week["next_meeting"] + timedelta(hours=1)
    page.get_by_role("link", name=f"Reschedule or cancel the session on {upcoming['date']}").click()
    expect(page.get_by_text("Only this session changes")).to_be_visible()
    axe_check(page)
    page.get_by_label("New date").fill(later.date().isoformat())
    page.get_by_label("New start time").fill(later.strftime("%H:%M"))
    page.get_by_role("button", name="Reschedule this session").click()
    expect(page.get_by_role("heading", name=week["group"]["name"], level=1)).to_be_visible()
    expect(
        page.get_by_text(f"{later.date().isoformat()} {later.strftime('%H:%M')}")
    ).to_be_visible()

    wanted = {d + timedelta(hours=1) for d in due_before}
    moved = wait_until(
        lambda: (lambda found: found if found == wanted else None)(
            {datetime.fromisoformat(d["due_at"]) for d in reminders()}
        ),
        timeout=60,
        what="the reminder to move with the session",
    )
    assert moved == wanted
    assert all(d.tzinfo is not None and d > datetime.now(UTC) for d in moved)


def test_the_next_cycle_is_previewed_with_its_conflicts_before_saving(
    page: Page, sign_in, axe_check, screenshot, week
):
    sign_in(page, "fiona")
    open_group(page, week, axe_check)
    page.get_by_role("link", name="Schedule the next cycle").click()
    axe_check(page)
    page.get_by_label("Date of the first session").fill(week["sessions"][0]["date"])
    page.get_by_role("button", name="Preview the calendar").click()
    expect(page.get_by_role("heading", name="Calendar preview")).to_be_visible()
    expect(page.get_by_text(re.compile(r"\d+ conflicts"))).to_be_visible()  # its own room
    expect(page.get_by_text("Room taken").first).to_be_visible()
    axe_check(page)
    screenshot(page, "group-schedule-preview")


def test_fiona_makes_the_groups_calendar_link_and_revokes_it(page: Page, sign_in, axe_check, week):
    sign_in(page, "fiona")
    open_group(page, week, axe_check)
    page.get_by_role("button", name="Make a calendar link").click()
    link = page.locator("#feed-url")
    expect(link).to_be_visible()
    url = link.input_value()
    assert url not in page.url  # the secret is in the page once, never in an address
    feed = requests.get(url, timeout=10)
    assert feed.status_code == 200 and "BEGIN:VCALENDAR" in feed.text
    axe_check(page)
    page.get_by_role("button", name=re.compile(r"^Revoke")).click()
    expect(page.get_by_role("button", name=re.compile(r"^Revoke"))).to_have_count(0)
    expect(page.locator("#feed-url")).to_have_count(0)  # shown once only
    assert requests.get(url, timeout=10).status_code == 404
