"""The intake coordinator's day in the console, in a real browser, signed in through Keycloak
as carla: record a referral (a form error at its field, the duplicate warning for the same
person), take it from received to admitted through every step of its page, find it in the
queue and by its reference, see the risk banner with the emergency route on a high-risk
screening, work the site inbox; and never see another site's names."""

from __future__ import annotations

import re
import time
import uuid

import pytest
from clinic_setup import Clinic, set_up_clinic
from playwright.sync_api import Page, expect

from support import Api


@pytest.fixture(scope="module")
def clinic(console, tokens) -> Clinic:
    return set_up_clinic(console.profile, tokens.operator())


@pytest.fixture(scope="module")
def intake_operator(console, tokens) -> Api:
    return Api(console.profile.api_url("intake"), tokens.operator())


def expect_error_at(page: Page, field_id: str, text: str | re.Pattern) -> None:
    """The message is shown next to its field: in the field's own form group, linked to the
    field by aria-describedby, and listed in the error summary at the top."""
    message = page.locator(f".nhsuk-form-group--error:has(#{field_id}) #{field_id}-error")
    expect(message).to_contain_text(text)
    expect(page.locator(f"#{field_id}")).to_have_attribute(
        "aria-describedby", re.compile(rf"\b{re.escape(field_id)}-error\b")
    )
    expect(page.locator(".nhsuk-error-summary")).to_contain_text(text)


def open_queue(page: Page, clinic: Clinic) -> None:
    page.get_by_role("link", name="Referrals", exact=True).click()
    page.get_by_label("Site").select_option(label=clinic.site_name)
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_label("Site")).to_have_value(clinic.site_id)


def fill_referral(page: Page, clinic: Clinic, given: str, family: str, dob=("12", "4", "1995")):
    page.get_by_label("Site").select_option(label=clinic.site_name)
    page.get_by_label("Program").select_option(label="Adult")
    page.get_by_label("Referred by").fill("GP letter")
    page.get_by_label("First name").fill(given)
    page.get_by_label("Last name").fill(family)
    for part, value in zip(("Day", "Month", "Year"), dob, strict=True):
        page.get_by_label(part, exact=True).fill(value)
    page.get_by_label("Email address").fill(f"{given.lower()}@example.org")
    page.get_by_label("Phone number").fill("020 7946 0123")
    page.get_by_label("The client agreed to be contacted by the clinic").check()


def find_by_reference(page: Page, reference: str, axe_check) -> None:
    page.get_by_role("link", name="Referrals", exact=True).click()
    axe_check(page)
    page.get_by_label("Find a referral by reference").fill(reference)
    page.get_by_role("button", name="Find").click()


def screen(page: Page, cssrs: list[bool], phq9: list[int], gad7: list[int]) -> None:
    for i, answer in enumerate(cssrs):
        page.locator(f"#f-cssrs-{i}--{'yes' if answer else 'no'}").check()
    for scale, answers in (("PHQ-9", phq9), ("GAD-7", gad7)):
        for i, value in enumerate(answers):
            page.get_by_label(f"{scale} item {i + 1}", exact=True).select_option(str(value))


def status_of(page: Page):
    return page.locator("main .nhsuk-tag").first


# One long workflow: on a busy 2-core machine it can outlast the default 300 s.
@pytest.mark.timeout(600)
def test_carla_takes_a_referral_from_received_to_admitted(
    page, clinic, sign_in, axe_check, screenshot
):
    given, family = "Maya", f"Fernandez{uuid.uuid4().hex[:5]}"
    sign_in(page, "carla", fresh=True)
    # The coordinator's home is the referral queue; her sites only.
    expect(page).to_have_title(re.compile("^Referrals"))
    expect(page.locator(".nhsuk-header")).to_contain_text("Carla")
    open_queue(page, clinic)
    axe_check(page)

    # A new referral: one bad value shows its message at the field, with every value kept.
    page.get_by_role("link", name="Record a new referral").click()
    expect(page).to_have_title(re.compile("^New referral"))
    axe_check(page)
    fill_referral(page, clinic, given, family)
    page.get_by_label("Email address").fill("maya-at-example")
    page.get_by_role("button", name="Record referral").click()
    expect(page).to_have_title(re.compile("^Error: New referral"))
    expect_error_at(page, "f-client-email", re.compile("email", re.I))
    expect(page.get_by_label("First name")).to_have_value(given)
    expect(page.get_by_label("Last name")).to_have_value(family)
    expect(page.get_by_label("Year", exact=True)).to_have_value("1995")
    expect(page.get_by_label("Referred by")).to_have_value("GP letter")
    expect(page.get_by_label("The client agreed to be contacted by the clinic")).to_be_checked()
    axe_check(page)
    screenshot(page, "referral-form-error")
    page.get_by_label("Email address").fill("maya@example.org")
    page.get_by_role("button", name="Record referral").click()

    # The referral's page: the client's name in the body, never in the title or the address.
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{given} {family}")
    expect(page).to_have_title(re.compile(r"^Referral \W DBT clinic console$"))
    assert family not in page.url
    expect(status_of(page)).to_have_text("Received")
    reference = page.locator(".nhsuk-caption-l").inner_text().removeprefix("Referral ").strip()
    axe_check(page)

    # The same person again at the site: warned before anything is recorded.
    page.goto("/referrals/new")
    fill_referral(page, clinic, given, family)
    page.get_by_role("button", name="Record referral").click()
    warning = page.locator("#possible-duplicates")
    expect(warning).to_contain_text("This person may already be referred")
    expect(warning).to_contain_text("Nothing has been recorded yet")
    expect(warning.get_by_role("link", name=f"Referral {reference}")).to_be_visible()
    expect(page.get_by_label("Last name")).to_have_value(family)
    expect(page.get_by_role("button", name="Record it anyway")).to_be_visible()
    axe_check(page)
    screenshot(page, "referral-duplicate-warning")
    page.get_by_role("link", name="Cancel: do not record it").click()

    # The queue by stage with the days waited, and the search by reference.
    open_queue(page, clinic)
    page.get_by_role("link", name=re.compile(r"^Received \(\d+\)$")).click()
    row = page.locator("#queue tr", has_text=reference)
    expect(row).to_contain_text(f"{given} {family}")
    expect(row.locator("td").nth(3)).to_have_text("Received")
    expect(row.locator("td").nth(4)).to_have_text("0")
    expect(page.locator("#queue caption")).to_contain_text("Received")
    axe_check(page)
    screenshot(page, "referrals")
    # Only the one person recorded: the duplicate was not.
    expect(page.locator("#queue tr", has_text=family)).to_have_count(1)
    find_by_reference(page, reference, axe_check)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{given} {family}")

    # Screening: the scores and their bands on the referral page; a low risk shows no banner.
    page.get_by_role("link", name="Record a screening").click()
    expect(page).to_have_title(re.compile("^Record a screening"))
    axe_check(page)
    screenshot(page, "screening")
    screen(page, [False] * 6, [2, 1, 1, 2, 1, 1, 2, 1, 0], [1, 1, 2, 1, 1, 1, 1])
    page.get_by_role("button", name="Score and record").click()
    expect(status_of(page)).to_have_text("Screening")
    screening = page.locator("dl", has=page.get_by_text("PHQ-9"))
    expect(screening).to_contain_text("11 (moderate)")
    expect(screening).to_contain_text("8 (mild)")
    expect(page.get_by_role("alert")).to_have_count(0)
    axe_check(page)

    # Eligibility: a decision left unchosen is refused at its field.
    page.get_by_role("button", name="Record decision").click()
    expect(page).to_have_title(re.compile("^Referral"))
    expect_error_at(page, "eligibility-f-decision", "Choose a decision")
    axe_check(page)
    page.locator("#eligibility-f-decision").select_option(label="Eligible")
    page.locator("#eligibility-f-reason").fill("Meets the adult program's criteria")
    page.get_by_role("button", name="Record decision").click()
    expect(status_of(page)).to_have_text("Eligible")

    # Orientation.
    page.get_by_role("button", name="Start orientation").click()
    expect(status_of(page)).to_have_text("Orientation")

    # Therapist match with its explanation, then a manual override.
    page.get_by_role("button", name="Assign therapist").click()
    assigned = page.get_by_text(re.compile(r"^Assigned: "))
    expect(assigned).to_contain_text(re.compile(r"\(matched\): \S"))  # with its reasons
    matched = next(name for name in clinic.therapists if name in assigned.inner_text())
    other = next(name for name in clinic.therapists if name != matched)
    axe_check(page)
    page.get_by_label("Therapist").select_option(label=other)
    page.get_by_role("button", name="Assign therapist").click()
    expect(assigned).to_contain_text(f"Assigned: {other} (chosen by hand)")

    # Commitment: sessions out of range are refused at the field, the boxes ticked kept.
    page.get_by_label("Orientation sessions held").fill("9")
    for agreement in ("All four modes of treatment", "The four-miss rule", "Treatment"):
        page.get_by_label(agreement, exact=True).check()
    page.get_by_role("button", name="Record commitment").click()
    expect_error_at(page, "commitment-f-orientation-sessions", re.compile(r"\S"))
    expect(page.get_by_label("Orientation sessions held")).to_have_value("9")
    expect(page.get_by_label("The four-miss rule", exact=True)).to_be_checked()
    axe_check(page)
    page.get_by_label("Orientation sessions held").fill("2")
    page.get_by_role("button", name="Record commitment").click()
    expect(status_of(page)).to_have_text("Committed")
    screenshot(page, "referral-admission")

    # Admission with the client's availability.
    page.locator("#admission-f-availability-0--weekday").select_option(label="Tuesday")
    page.locator("#admission-f-availability-0--start").fill("18:00")
    page.locator("#admission-f-availability-0--end").fill("20:00")
    page.get_by_role("button", name="Admit").click()
    expect(status_of(page)).to_have_text("Admitted")
    history = page.locator("ol", has_text="Received")
    for stage in ("Received", "Screening", "Eligible", "Orientation", "Committed", "Admitted"):
        expect(history).to_contain_text(stage)
    axe_check(page)


def _referral(intake: Api, clinic: Clinic, given: str, family: str) -> str:
    answer = intake.post(
        "/v1/referrals",
        json={
            "site_id": clinic.site_id,
            "program": "adult",
            "source": "self",
            "consent_to_contact": True,
            "client": {
                "given_name": given,
                "family_name": family,
                "date_of_birth": "1988-02-03",
                "email": "client@example.org",
                "phone": "+44 20 7946 0456",
                "preferred_channel": "email",
                "language": "en",
            },
        },
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


@pytest.mark.parametrize(
    ("cssrs", "phq9", "flag"),
    [
        ([True, True, True, True, False, False], [1] * 9, "C-SSRS: high suicide risk"),
        ([False] * 6, [1, 1, 1, 1, 1, 1, 1, 1, 2], "PHQ-9 item 9: thoughts of self-harm"),
    ],
    ids=["cssrs-intent", "phq9-item-9"],
)
def test_a_high_risk_screening_shows_the_risk_banner_with_the_emergency_route(
    page, clinic, intake_operator, sign_in, axe_check, screenshot, cssrs, phq9, flag
):
    reference = _referral(intake_operator, clinic, "Jon", f"Risk{uuid.uuid4().hex[:5]}")
    sign_in(page, "carla")
    find_by_reference(page, reference, axe_check)
    expect(page.get_by_role("alert")).to_have_count(0)
    page.get_by_role("link", name="Record a screening").click()
    axe_check(page)
    # One scale left half answered: the message at its questions, the answers given kept.
    screen(page, cssrs, phq9[:4], [0] * 7)
    page.get_by_role("button", name="Score and record").click()
    expect(page).to_have_title(re.compile("^Error: Record a screening"))
    expect(page.locator("#f-phq9 + .nhsuk-error-message")).to_be_visible()
    expect(page.get_by_label("PHQ-9 item 2", exact=True)).to_have_value(str(phq9[1]))
    axe_check(page)
    screen(page, cssrs, phq9, [0] * 7)
    page.get_by_role("button", name="Score and record").click()

    banner = page.get_by_role("alert")
    expect(banner).to_contain_text("High risk at screening")
    expect(banner).to_contain_text(flag)
    expect(banner).to_contain_text("emergency")
    # The site's safety resources to give the client now, once.
    expect(banner.locator("li").first).to_be_visible()
    axe_check(page)
    screenshot(page, f"risk-banner-{'cssrs' if cssrs[3] else 'phq9'}")
    page.reload()
    expect(page.get_by_role("alert")).to_contain_text("High risk at screening")


def test_the_site_inbox_counts_unread_items_and_marks_them_read(
    page, clinic, intake_operator, sign_in, axe_check, screenshot
):
    reference = _referral(intake_operator, clinic, "Ines", f"Inbox{uuid.uuid4().hex[:5]}")
    sign_in(page, "carla")

    def open_inbox():
        page.get_by_role("link", name="Inbox", exact=True).click()
        page.get_by_label("Site").select_option(label=clinic.site_name)
        page.get_by_role("button", name="Show").click()

    open_inbox()
    row = page.locator("tr", has_text=reference)
    # notifications hears of the referral from intake's events: a few seconds at most.
    deadline = time.monotonic() + 60
    while not row.count():
        assert time.monotonic() < deadline, "the new referral never reached the site inbox"
        page.wait_for_timeout(500)
        page.reload()
    expect(row).to_contain_text("New referral")
    unread = page.locator("main p strong").first
    # The earlier tests' referrals and risk flags reach this site's inbox from intake's events on
    # their own time: wait until the count holds still, so that marking one read is the only
    # change the assertions below see.
    before, deadline = int(unread.inner_text()), time.monotonic() + 60
    while True:
        page.wait_for_timeout(3000)
        page.reload()
        now = int(page.locator("main p strong").first.inner_text())
        if now == before or time.monotonic() > deadline:
            break
        before = now
    row = page.locator("tr", has_text=reference)
    unread = page.locator("main p strong").first
    before = int(unread.inner_text())
    assert before >= 1
    axe_check(page)
    screenshot(page, "inbox")

    row.get_by_role("button", name="Mark as read").click()
    expect(row).to_contain_text("Read ")
    expect(row.get_by_role("button", name="Mark as read")).to_have_count(0)
    expect(unread).to_have_text(str(before - 1))
    page.reload()
    expect(page.locator("tr", has_text=reference)).to_contain_text("Read ")
    expect(page.locator("main p strong").first).to_have_text(str(before - 1))
    axe_check(page)


def test_carla_never_sees_another_sites_names(page, clinic, sign_in, axe_check):
    sign_in(page, "carla")
    for path in ("/referrals", "/inbox", "/referrals/new"):
        page.goto(path)
        expect(page.locator("body")).not_to_contain_text(clinic.other_site_name)
        expect(page.locator("body")).not_to_contain_text(clinic.other_client)
        axe_check(page)
    # The other site's referral, by its reference: not found, and nothing of it named.
    find_by_reference(page, clinic.other_referral_id, axe_check)
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(page.locator("body")).not_to_contain_text(clinic.other_client.split()[1])
    expect(page.locator("body")).not_to_contain_text(clinic.other_site_name)
    axe_check(page)
    page.goto(f"/sites/{clinic.other_site_id}")
    expect(page.locator("body")).not_to_contain_text(clinic.other_site_name)
    axe_check(page)
