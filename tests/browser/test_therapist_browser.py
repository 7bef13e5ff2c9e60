"""The therapist's week in the console, in a real browser, signed in through Keycloak as theo:
a crisis request arrives in the coaching queue without a reload and is acknowledged in one
click; a request acknowledged in time does not escalate while one left alone does; a rota with
a hole shows the gap before it happens; a rupture shows on the client's alliance chart.

The clinic is set up through the services' APIs as its operator and coordinator would: a site
(hours all day, every day), its adult program with a one-minute acknowledgement target, theo
(his site roles from intake's staff directory) and a backup, and a client of theo's admitted
through intake's pipeline."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from clinic_setup import give_site, password_token
from playwright.sync_api import Page, expect

from support import Api, wait_until

#: The dev realm's theo (deploy/local/keycloak/realm-dbt.json): his id is fixed.
THEO = "0c1e0000-0000-4000-8000-00000000000d"
ZONE = "Europe/London"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
LOW_RISK = {
    "cssrs": [False] * 6,
    "phq9": [1, 1, 1, 1, 0, 1, 0, 0, 0],
    "gad7": [1, 1, 0, 0, 1, 0, 0],
    "ders16_total": 40,
    "bsl23_mean": 0.8,
}


def _ok(response):
    assert response.status_code in (200, 201), response.text
    return response.json()


def _key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


@pytest.fixture(scope="module")
def practice(console, tokens):
    profile = console.profile
    tag = uuid.uuid4().hex[:6]
    operator = Api(profile.api_url("intake"), tokens.operator())
    site_name = f"Harbour {tag}"
    site_id = _ok(
        operator.post(
            "/v1/sites",
            json={
                "name": site_name,
                "timezone": ZONE,
                "intake_email": f"intake-{tag}@clinic.example.org",
                "clinical_lead": {
                    "name": "Dr Lena Lead",
                    "email": f"lead-{tag}@clinic.example.org",
                },
            },
            headers=_key(),
        )
    )["id"]
    _ok(
        operator.post(
            f"/v1/sites/{site_id}/programs",
            json={"kind": "adult", "settings": {"coaching_ack_target_minutes": 1}},
        )
    )
    clinicians = {}
    for name, subject in (("Theo Tran", THEO), ("Bea Backup", f"therapist-{tag}")):
        clinicians[name] = _ok(
            operator.post(
                f"/v1/sites/{site_id}/clinicians",
                json={
                    "subject": subject,
                    "display_name": name,
                    "roles": ["therapist"],
                    "programs": ["adult"],
                    "languages": ["en"],
                    "caseload_limit": 12,
                },
                headers=_key(),
            )
        )["id"]
    give_site(operator, THEO, "Theo Tran", site_id, ["therapist"])

    # a client of theo's, through intake's pipeline
    intake = Api(profile.api_url("intake"), tokens.coordinator(site_id))
    referral = _ok(
        intake.post(
            "/v1/referrals",
            json={
                "site_id": site_id,
                "program": "adult",
                "source": "self",
                "consent_to_contact": True,
                "client": {
                    "given_name": "Nora",
                    "family_name": f"Quill{tag}",
                    "date_of_birth": "1991-05-06",
                    "email": f"nora.{tag}@example.org",
                    "phone": "+44 20 7946 0456",
                    "preferred_channel": "email",
                    "language": "en",
                },
            },
        )
    )
    client_id = referral["id"]
    for path, body in (
        ("screenings", LOW_RISK),
        ("eligibility", {"decision": "eligible", "reason": "meets criteria"}),
        ("orientation", None),
        (
            "commitment",
            {
                "orientation_sessions": 2,
                "all_modes": True,
                "four_miss_rule": True,
                "consent_to_treatment": True,
            },
        ),
        ("therapist", {"clinician_id": clinicians["Theo Tran"]}),
        ("admission", {"availability": [{"weekday": "mon", "start": "00:00", "end": "23:59"}]}),
    ):
        _ok(intake.post(f"/v1/referrals/{client_id}/{path}", json=body))

    # coaching: hours all day, every day; theo primary throughout; the backup missing on the
    # day after tomorrow (a hole still to come)
    coaching = Api(profile.api_url("coaching"), tokens.coordinator(site_id))
    hole = (datetime.now(UTC).astimezone(ZoneInfo(ZONE)) + timedelta(days=2)).date()
    every_day = [{"weekday": d, "start": "00:00", "end": "24:00"} for d in WEEKDAYS]
    wait_until(
        lambda: (
            coaching.put(
                f"/v1/sites/{site_id}/coaching-hours", json={"hours": every_day}
            ).status_code
            == 200
        ),
        timeout=60,
        what="coaching learns the site",
    )
    rota = {
        "primary": [{**d, "clinician_id": clinicians["Theo Tran"]} for d in every_day],
        "backup": [
            {**d, "clinician_id": clinicians["Bea Backup"]}
            for d in every_day
            if d["weekday"] != WEEKDAYS[hole.weekday()]
        ],
    }
    wait_until(
        lambda: coaching.put(f"/v1/sites/{site_id}/rota", json=rota).status_code == 200,
        timeout=60,
        what="coaching learns the clinicians",
    )
    client = Api(profile.api_url("coaching"), tokens.role("client", site_id, sub=client_id))
    wait_until(
        lambda: client.get(f"/v1/clients/{client_id}/alliance").status_code == 200,
        timeout=60,
        what="coaching learns the admitted client",
    )
    # three steady check-ins, then a drop: a rupture for theo to repair
    for ratings in ([10, 10, 9, 9], [10, 9, 10, 9], [9, 10, 10, 9], [6, 6, 5, 6]):
        flagged = _ok(
            client.post(
                "/v1/alliance-checkins", json={"session_kind": "individual", "ratings": ratings}
            )
        )
    assert flagged["rupture_id"]
    # this week's diary card, a personal target in the client's own words
    today = datetime.now(UTC).astimezone(ZoneInfo(ZONE)).date()
    _ok(
        client.post(
            "/v1/diary-cards",
            json={
                "date": today.isoformat(),
                "emotions": {"sadness": 3, "shame": 2},
                "urges": [
                    {"target": "licorice binge", "rating": 4, "acted": True},
                    {"target": "self_harm", "rating": 1, "acted": False},
                ],
                "skills_used": ["tipp", "opposite_action"],
                "distress": 7,
            },
        )
    )
    # theo's own token: coaching applies his directory roles before the browser signs in
    theo = Api(profile.api_url("coaching"), password_token(profile, "theo"))
    wait_until(
        lambda: any(
            x["client_id"] == client_id
            for x in (theo.get("/v1/caseload").json() or {}).get("items", [])
        ),
        timeout=60,
        what="coaching applies theo's membership",
    )
    return {
        "site_id": site_id,
        "site_name": site_name,
        "client_id": client_id,
        "client_name": f"Nora Quill{tag}",
        "client": client,
        "coaching": coaching,
        "hole": hole,
    }


def open_queue(page: Page, practice) -> None:
    page.goto(f"/coaching?site={practice['site_id']}")
    expect(page.get_by_role("heading", name="Coaching queue")).to_be_visible()


def card(page: Page, request_id: str):
    return page.locator(f'[data-request="{request_id}"]')


def test_a_crisis_request_arrives_live_and_is_acknowledged_in_one_click(
    page, sign_in, axe_check, screenshot, practice
):
    sign_in(page, "theo")
    open_queue(page, practice)
    axe_check(page)
    page.evaluate("() => { window.stillTheSamePage = true; }")
    crisis = _ok(practice["client"].post("/v1/coaching-requests", json={"kind": "crisis"}))
    arrived = card(page, crisis["id"])
    expect(arrived).to_contain_text("Crisis", timeout=10_000)
    expect(arrived).to_contain_text(practice["client_name"])
    expect(arrived).to_contain_text("Emergency route")
    expect(arrived.locator("time[data-countdown]")).to_contain_text("in ")
    assert page.evaluate("() => window.stillTheSamePage") is True  # no reload
    axe_check(page)
    screenshot(page, "coaching-queue")
    arrived.get_by_role("button", name="Acknowledge").click()
    expect(arrived).to_contain_text("Acknowledged")
    expect(arrived.get_by_role("button", name="Acknowledge")).to_have_count(0)
    state = _ok(practice["coaching"].get(f"/v1/coaching-requests/{crisis['id']}"))
    assert state["status"] == "acknowledged"


def test_an_acknowledged_request_does_not_escalate_and_one_left_alone_does(
    page, sign_in, axe_check, practice
):
    sign_in(page, "theo")
    open_queue(page, practice)
    answered = _ok(practice["client"].post("/v1/coaching-requests", json={"kind": "skills"}))
    left = _ok(practice["client"].post("/v1/coaching-requests", json={"kind": "relationship"}))
    mine = card(page, answered["id"])
    expect(mine).to_be_visible(timeout=10_000)
    mine.get_by_role("button", name="Acknowledge").click()
    expect(mine).to_contain_text("Acknowledged")

    # the program's target is one minute: the one left alone escalates to the backup...
    def escalated(request_id):
        history = _ok(practice["coaching"].get(f"/v1/coaching-requests/{request_id}"))["history"]
        return [h for h in history if h["what"].startswith("escalated_")]

    wait_until(lambda: escalated(left["id"]), timeout=150, what="the request left alone escalates")
    # ...and shows so in the queue, live; the acknowledged one, past the same deadline, did not
    expect(card(page, left["id"])).to_contain_text("escalated to Bea Backup", timeout=10_000)
    assert escalated(answered["id"]) == []
    expect(card(page, answered["id"])).not_to_contain_text("Escalated")
    axe_check(page)


def test_a_rota_with_a_hole_shows_the_gap_before_it_happens(
    page, sign_in, axe_check, screenshot, practice
):
    sign_in(page, "theo")
    axe_check(page)  # the queue, where a therapist's day starts
    page.goto(f"/rota?site={practice['site_id']}")
    day = practice["hole"].strftime("%A %d %B")
    section = page.locator("section.console-day", has_text=day)
    expect(section.locator(".console-gap")).to_contain_text("no backup")
    expect(section.locator(".console-gap .nhsuk-tag--red")).to_have_text("Gap")
    expect(page.get_by_test_id("gap-count")).to_contain_text("still to come")
    expect(page.locator(".console-mine").first).to_contain_text("You: primary")
    axe_check(page)
    screenshot(page, "on-call-rota")


def test_a_rupture_shows_on_the_clients_alliance_chart(
    page, sign_in, axe_check, screenshot, practice
):
    sign_in(page, "theo")
    axe_check(page)
    page.goto("/caseload")
    axe_check(page)
    page.get_by_role("link", name=practice["client_name"]).click()
    expect(page.get_by_role("heading", name=practice["client_name"])).to_be_visible()
    expect(page.get_by_test_id("rupture")).to_have_text("Rupture flagged")
    expect(page.locator('[data-chart="alliance"]')).to_have_attribute("data-drawn", "true")
    expect(page.locator('[data-chart="alliance"] canvas')).to_have_count(1)
    assert practice["client_id"] not in page.title()
    axe_check(page)
    screenshot(page, "client-page")
    page.get_by_label("How it was repaired").fill("Talked it through at the next session")
    page.get_by_role("button", name="Record the repair").click()
    expect(page.get_by_text("Talked it through at the next session")).to_be_visible()
    axe_check(page)


def test_the_diary_week_reads_at_a_glance_and_a_shared_goal_is_edited(
    page, sign_in, axe_check, screenshot, practice
):
    sign_in(page, "theo")
    axe_check(page)
    page.goto(f"/caseload/{practice['client_id']}")
    expect(page.locator('[data-chart="diary"]')).to_have_attribute("data-drawn", "true")
    expect(page.get_by_test_id("diary-summary")).to_contain_text("1 of 7 days filled in.")
    expect(page.get_by_test_id("diary-summary")).to_contain_text(
        "Acted on: Licorice binge on 1 day."
    )
    table = page.get_by_role("table", name="The week day by day")
    expect(table).to_contain_text("Licorice binge 4")
    axe_check(page)
    page.get_by_label("Goal, in the client's words").fill("Walk the dog every morning")
    page.get_by_role("button", name="Add the goal").click()
    goal = page.locator(".nhsuk-card", has_text="Walk the dog every morning")
    expect(goal).to_contain_text("Progress: 0%")
    goal.get_by_label("Progress (0 to 100)").fill("30")
    goal.get_by_label("Note").fill("Four mornings out of seven")
    goal.get_by_role("button", name="Save the goal").click()
    goal = page.locator(".nhsuk-card", has_text="Walk the dog every morning")
    expect(goal).to_contain_text("Progress: 30%")
    expect(goal).to_contain_text("Latest note: Four mornings out of seven")
    goal.get_by_text("Who changed what").click()
    expect(goal).to_contain_text("you changed note, progress")
    axe_check(page)
    screenshot(page, "client-goals")
