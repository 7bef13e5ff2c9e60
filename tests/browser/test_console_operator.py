"""The clinic operator's workflow in the console, in a real browser, signed in through Keycloak
as olivia: the organisation at a glance, add a site (a bad value refused at its field, what was
typed kept), change it, its adult program and that program's settings beside the standard DBT
values, a clinician, carla as the new site's intake coordinator through the staff pages; then
sign out, which ends the provider's session too."""

from __future__ import annotations

import re
import uuid

import pytest
from clinic_setup import CARLA
from playwright.sync_api import Page, expect


def expect_error_at(page: Page, field_id: str, text: str | re.Pattern) -> None:
    """The message is in the field's own form group, linked to it by aria-describedby."""
    message = page.locator(f".nhsuk-form-group--error:has(#{field_id}) #{field_id}-error")
    expect(message).to_contain_text(text)
    expect(page.locator(f"#{field_id}")).to_have_attribute(
        "aria-describedby", re.compile(rf"\b{re.escape(field_id)}-error\b")
    )


def summary_value(page: Page, key: str):
    return page.locator(".nhsuk-summary-list__row", has=page.locator("dt", has_text=key)).locator(
        "dd"
    )


# One long workflow: on a busy 2-core machine it can outlast the default 300 s.
@pytest.mark.timeout(600)
def test_olivia_sets_up_a_site_its_clinician_program_and_coordinator(
    page, console_profile, sign_in, sign_out, axe_check, screenshot
):
    site_name = f"Lakeside {uuid.uuid4().hex[:6]}"
    sign_in(page, "olivia", fresh=True)

    # The organisation at a glance is the operator's home.
    expect(page).to_have_title(re.compile("^Organisation"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Organisation")
    axe_check(page)
    screenshot(page, "organisation")

    # Add a site: a time zone that is not one is refused at its field, the rest kept.
    page.get_by_role("link", name="Sites", exact=True).click()
    expect(page).to_have_title(re.compile("^Sites"))
    axe_check(page)
    page.get_by_role("link", name="Add a site").click()
    expect(page).to_have_title(re.compile("^Add a site"))
    axe_check(page)
    page.get_by_label("Site name").fill(site_name)
    page.get_by_label("Time zone").fill("Europe/Atlantis")
    page.get_by_label("Intake email address").fill("intake@lakeside.example.org")
    page.get_by_label("Name", exact=True).fill("Dr Rhea Lead")
    page.get_by_label("Email address", exact=True).fill("rhea@lakeside.example.org")
    page.get_by_role("button", name="Add site").click()
    expect(page).to_have_title(re.compile("^Error: Add a site"))
    expect_error_at(page, "f-timezone", re.compile(r"\S"))
    expect(page.get_by_label("Site name")).to_have_value(site_name)
    expect(page.get_by_label("Time zone")).to_have_value("Europe/Atlantis")
    expect(page.get_by_label("Name", exact=True)).to_have_value("Dr Rhea Lead")
    axe_check(page)
    screenshot(page, "site-form-error")
    page.get_by_label("Time zone").fill("Europe/London")
    page.get_by_role("button", name="Add site").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(site_name)
    expect(summary_value(page, "Time zone")).to_have_text("Europe/London")
    expect(summary_value(page, "Clinical lead")).to_contain_text("Dr Rhea Lead")
    axe_check(page)

    # Change its details.
    page.get_by_role("link", name="Change the site's details").click()
    expect(page.get_by_label("Site name")).to_have_value(site_name)
    axe_check(page)
    page.get_by_label("Time zone").fill("Europe/Dublin")
    page.get_by_label("Intake email address").fill("referrals@lakeside.example.org")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(site_name)
    expect(summary_value(page, "Time zone")).to_have_text("Europe/Dublin")
    expect(summary_value(page, "Intake email")).to_have_text("referrals@lakeside.example.org")

    # Its adult program, on the standard settings, then one setting changed.
    page.get_by_role("button", name="Add the adult program (standard DBT settings)").click()
    expect(page.get_by_role("heading", name="Adult program")).to_be_visible()
    capacity = page.locator("tr", has_text="Group capacity")
    expect(capacity.locator("td").nth(0)).to_contain_text("8")
    expect(capacity.locator("td").nth(1)).to_contain_text("8")
    axe_check(page)
    page.get_by_role("link", name="Change the adult program's settings").click()
    expect(page).to_have_title(re.compile("^Program settings"))
    expect(page.locator("#f-group-capacity-hint")).to_contain_text("Standard DBT: 8")
    axe_check(page)
    page.get_by_label(re.compile("^Group capacity")).fill("none")
    page.get_by_role("button", name="Save settings").click()
    expect(page).to_have_title(re.compile("^Error: Program settings"))
    expect_error_at(page, "f-group-capacity", re.compile(r"\S"))
    expect(page.get_by_label(re.compile("^Group capacity"))).to_have_value("none")
    axe_check(page)
    screenshot(page, "program-settings")
    page.get_by_label(re.compile("^Group capacity")).fill("10")
    page.get_by_role("button", name="Save settings").click()
    capacity = page.locator("tr", has_text="Group capacity")
    expect(capacity.locator("td").nth(0)).to_contain_text("Changed")
    expect(capacity.locator("td").nth(0)).to_contain_text("10")
    expect(capacity.locator("td").nth(1)).to_contain_text("8")
    screenshot(page, "site")

    # A clinician at the site.
    page.get_by_role("link", name="Add a clinician").click()
    expect(page).to_have_title(re.compile("^Add a clinician"))
    axe_check(page)
    page.get_by_label("Name", exact=True).fill("Dr Ana Ortiz")
    page.get_by_label("User id").fill(f"clinician-{uuid.uuid4().hex[:10]}")
    page.get_by_label("Therapist", exact=True).check()
    page.get_by_label("Languages").fill("en, es")
    page.get_by_label("Caseload limit").fill("12")
    page.get_by_role("button", name="Add clinician").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(site_name)
    clinician = page.locator("tr", has_text="Dr Ana Ortiz")
    expect(clinician).to_contain_text("Therapist")
    expect(clinician).to_contain_text("en, es")
    expect(clinician).to_contain_text("0 of 12")

    # Carla as the new site's intake coordinator, through the staff pages: her other sites'
    # roles are kept if she has some.
    page.get_by_role("link", name="Staff", exact=True).click()
    expect(page).to_have_title(re.compile("^Staff"))
    axe_check(page)
    listed = page.locator(f"a[href='/staff/{CARLA}']")
    if listed.count():
        listed.click()
        expect(page).to_have_title(re.compile("^Change a staff member"))
    else:
        page.get_by_role("link", name="Add a staff member").click()
        expect(page).to_have_title(re.compile("^Add a staff member"))
        page.get_by_label("User id").fill(CARLA)
    page.get_by_label("Name", exact=True).fill("Carla Costa")
    kept = page.locator("input[type=checkbox]:checked").count()
    page.get_by_role("group", name=site_name).get_by_label("Intake coordinator").check()
    axe_check(page)
    screenshot(page, "staff-member")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_title(re.compile("^Staff"))
    carla = page.locator("tr", has=page.get_by_role("link", name="Carla Costa"))
    expect(carla).to_contain_text(f"{site_name}: intake coordinator")
    screenshot(page, "staff")
    carla.get_by_role("link", name="Carla Costa").click()
    expect(page.locator("input[type=checkbox]:checked")).to_have_count(kept + 1)
    axe_check(page)

    # The overview names the new site, its figures each a link to the list behind it.
    page.get_by_role("link", name="Organisation", exact=True).click()
    expect(page.get_by_role("link", name=site_name)).to_be_visible()

    # Signing out ends the provider's session too: the next sign-in asks for the password.
    sign_out(page)
    axe_check(page)
    page.get_by_role("link", name="Sign in").click()
    page.wait_for_url(re.compile(re.escape(console_profile.keycloak_issuer)))
    expect(page.locator("#password")).to_be_visible()
