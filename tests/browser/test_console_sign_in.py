"""Signing in to the console through the stack's Keycloak, as a person does: the start page,
the provider's form, back on the console as that person; a wrong password stays at the
provider; signing out ends the provider's session too (the next sign-in asks for the
password again)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect


def test_olivia_signs_in_through_keycloak_and_out_again(
    page, console_profile, sign_in, sign_out, axe_check, screenshot
):
    page.goto("/")
    expect(page).to_have_title(re.compile("^Sign in"))
    expect(page.get_by_role("heading", level=1)).to_have_text("DBT clinic console")
    axe_check(page)
    screenshot(page, "start")

    sign_in(page, "olivia", fresh=True)
    # The operator's home is the organisation at a glance, with her name in the header.
    expect(page.get_by_role("heading", level=1)).to_contain_text("Organisation")
    expect(page.locator(".nhsuk-header")).to_contain_text("Olivia")
    axe_check(page)

    sign_out(page)
    axe_check(page)
    # The provider's session ended too: signing in again shows its form, not the console.
    page.get_by_role("link", name="Sign in").click()
    page.wait_for_url(re.compile(re.escape(console_profile.keycloak_issuer)))
    expect(page.locator("#password")).to_be_visible()


def test_a_wrong_password_stays_at_the_provider(page, console_profile, axe_check):
    page.goto("/auth/sign-in")
    page.locator("#username").fill("carla")
    page.locator("#password").fill("not-carla")
    page.locator("#kc-login").click()
    expect(page.get_by_text(re.compile("Invalid username or password", re.I))).to_be_visible()
    assert page.url.startswith(console_profile.keycloak_issuer)
    # Nobody is signed in at the console.
    page.goto("/home")
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    axe_check(page)


def test_oscar_of_ops_signs_in_to_the_services_api_documents(page, sign_in, axe_check):
    sign_in(page, "oscar", fresh=True)
    header = page.locator(".nhsuk-header")
    expect(header).to_contain_text("Oscar")
    expect(header).to_contain_text("Operations")
    # Ops has no clinic pages: no referrals, staff or sites in the menu.
    for other in ("Referrals", "Staff", "Sites"):
        expect(page.get_by_role("link", name=other, exact=True)).to_have_count(0)
    axe_check(page)
    page.get_by_role("link", name="APIs", exact=True).click()
    expect(page).to_have_title(re.compile("^API"))
    axe_check(page)


@pytest.mark.parametrize(("user", "name"), [("fiona", "Fiona"), ("theo", "Theo")])
def test_clinicians_sign_in_as_themselves(page, sign_in, axe_check, user, name):
    sign_in(page, user, fresh=True)
    expect(page.locator(".nhsuk-header")).to_contain_text(name)
    # No operator's or coordinator's pages for them.
    for other in ("Organisation", "Staff", "Sites", "Referrals"):
        expect(page.get_by_role("link", name=other, exact=True)).to_have_count(0)
    axe_check(page)


def test_the_accessibility_check_fails_on_a_serious_violation(page, axe_check):
    """The harness's own check is not vacuous: a form field without a label and an image
    without a text alternative fail it, naming each rule and its target."""
    page.set_content(
        "<!DOCTYPE html><html lang='en'><head><title>Broken</title></head><body><main>"
        "<h1>Broken</h1><img src='data:,' id='no-alt'><input id='no-label' type='text'>"
        "</main></body></html>"
    )
    with pytest.raises(AssertionError) as failed:
        axe_check(page)
    message = str(failed.value)
    assert "image-alt" in message and "#no-alt" in message
    assert "label" in message and "#no-label" in message
