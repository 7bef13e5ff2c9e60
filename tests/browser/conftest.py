"""The console in a real browser: Playwright for Python driving Debian's chromium (never a
browser download), signed in through the stack's Keycloak as the dev users (password = user
name), with axe-core run on every console page a test visits.

Fixtures (their names are stable: other browser test modules use them):

- ``browser``: one headless chromium for the whole session.
- ``page``: a fresh browser context and page on the console (``page.goto("/referrals")``);
  every console page it lands on must be checked with ``axe_check`` before the test ends.
- ``sign_in``: ``sign_in(page, "carla")`` signs in through Keycloak's form and checks the page
  it lands on with axe; a later call for the same user reuses that session's cookie, unless
  ``fresh=True`` (a test about sign-in) or the user's staff-directory entry changed since (the
  console reads a person's roles at each site at sign-in). After giving someone a site, wait
  until intake applies it (``clinic_setup.set_up_clinic`` shows how) before signing them in.
- ``sign_out``: ``sign_out(page)`` presses "Sign out" and waits for the start page.
- ``axe_check``: ``axe_check(page)`` runs axe-core on the page as it is now and fails, listing
  each rule id and target, on any serious or critical violation.
- ``screenshot``: ``screenshot(page, "name")`` saves ``name.png`` into the folder named by
  ``CONSOLE_SCREENSHOTS`` (e.g. ``docs/screenshots``) and does nothing without it, so a CI run
  does not rewrite the repository.
- ``console_url``, ``console_profile``: where the test stack's console and Keycloak are.

Every test here is marked ``e2e`` (``make test-e2e`` runs them).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from devstack import mint_token

ROOT = Path(__file__).resolve().parents[2]
#: axe-core from the console's npm packages (installed by setup; dev dependency).
AXE = ROOT / "services" / "console" / "node_modules" / "axe-core" / "axe.min.js"
#: Debian's chromium; Playwright's own browser builds are never downloaded.
CHROMIUM = os.environ.get("CONSOLE_BROWSER", "/usr/bin/chromium")
#: The violations that fail a test (axe's impact levels: minor, moderate, serious, critical).
FAILING_IMPACTS = {"serious", "critical"}
#: How long a step may take against the stack on a busy 2-core machine.
STEP_TIMEOUT_MS = 30_000


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "/tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def console_profile(console):
    return console.profile


@pytest.fixture(scope="session")
def console_url(console_profile) -> str:
    return console_profile.console_url


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox"], headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


class Visits:
    """The console pages a test's page landed on, and those axe checked."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.visited: dict[str, str] = {}  # path -> a URL seen there
        self.checked: set[str] = set()

    def path(self, url: str) -> str | None:
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" != self.origin:
            return None  # Keycloak's pages, about:blank
        if parts.path.startswith("/static/"):
            return None
        return parts.path

    def landed(self, url: str) -> None:
        path = self.path(url)
        if path is not None:
            self.visited.setdefault(path, url)

    def unchecked(self) -> list[str]:
        return sorted(set(self.visited) - self.checked)


@pytest.fixture
def _visits(console_url) -> Visits:
    return Visits(console_url)


@pytest.fixture
def context(browser: Browser, console_url: str) -> Iterator[BrowserContext]:
    ctx = browser.new_context(base_url=console_url, viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(STEP_TIMEOUT_MS)
    ctx.set_default_navigation_timeout(STEP_TIMEOUT_MS)
    # axe-core in every page before its own scripts (the DevTools protocol is not subject to
    # the console's CSP, which refuses an inline copy; no fetch that a busy server can stall).
    ctx.add_init_script(path=str(AXE))
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def page(context: BrowserContext, _visits: Visits, request) -> Iterator[Page]:
    tab = context.new_page()
    tab.on("framenavigated", lambda frame: frame == tab.main_frame and _visits.landed(frame.url))
    yield tab
    # Checked only when the test itself passed: a failing test's own message comes first.
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.passed:
        missed = _visits.unchecked()
        assert not missed, f"console pages visited without an axe check: {missed}"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def _violations(page: Page) -> list[dict]:
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))  # a page opened before the context's
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.map(n => n.target.join(' ')),
            }));
        }"""
    )
    return [v for v in result if v["impact"] in FAILING_IMPACTS]


@pytest.fixture
def axe_check(_visits: Visits) -> Callable[[Page], list[dict]]:
    def check(page: Page) -> list[dict]:
        page.wait_for_load_state("load")
        path = _visits.path(page.url)
        found = _violations(page)
        if path is not None:
            _visits.landed(page.url)
            _visits.checked.add(path)
        listing = "\n".join(
            f"  {v['id']} ({v['impact']}): {v['help']} at {', '.join(v['targets'])}" for v in found
        )
        assert not found, f"axe: serious or critical violations on {page.url}:\n{listing}"
        return found

    return check


#: The dev realm's users and their fixed ids (the identity provider's subjects).
REALM = ROOT / "deploy" / "local" / "keycloak" / "realm-dbt.json"


@pytest.fixture(scope="session")
def _user_ids() -> dict[str, str]:
    realm = json.loads(REALM.read_text(encoding="utf-8"))
    return {user["username"]: user["id"] for user in realm.get("users", [])}


@pytest.fixture(scope="session")
def _directory(console_profile, _user_ids) -> Callable[[str], object]:
    """A user's entry in the staff directory as it is now (None if absent): the console reads
    a person's roles at each site at sign-in, so a session from before a change is stale."""
    intake = console_profile.api_url("intake")
    token = mint_token(["operator"], [], "browser-tests")

    def entry(user: str) -> object:
        subject = _user_ids.get(user)
        if subject is None:
            return None
        answer = requests.get(
            f"{intake}/v1/staff/{subject}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        if answer.status_code == 404:
            return None
        answer.raise_for_status()
        member = answer.json()
        return member.get("active"), sorted(
            (m["site_id"], sorted(m.get("roles") or [])) for m in member.get("memberships") or []
        )

    return entry


@pytest.fixture(scope="session")
def _signed_in() -> dict[str, tuple[list[dict], object]]:
    return {}  # user -> (the console's session cookie, their directory entry at sign-in)


@pytest.fixture
def sign_in(
    console_url: str, console_profile, _signed_in, _directory, axe_check
) -> Callable[..., Page]:
    def sign_in_(page: Page, user: str, *, fresh: bool = False) -> Page:
        entry = _directory(user)
        kept = _signed_in.get(user)
        if kept and not fresh and kept[1] == entry:
            page.context.add_cookies(kept[0])
            page.goto("/home")
            if not _on_start_page(page):
                axe_check(page)
                return page
            page.context.clear_cookies()  # that session ended (signed out, idle): a new one
        page.goto("/auth/sign-in")
        expect(page).to_have_url(re.compile(re.escape(console_profile.keycloak_issuer)))
        page.locator("#username").fill(user)
        page.locator("#password").fill(user)
        page.locator("#kc-login").click()
        page.wait_for_url(lambda url: url.startswith(console_url + "/"))
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        cookie = [c for c in page.context.cookies() if c["name"] == "dbt_console"]
        _signed_in[user] = (cookie, entry)
        axe_check(page)
        return page

    return sign_in_


def _on_start_page(page: Page) -> bool:
    return page.get_by_role("button", name="Sign out").count() == 0


@pytest.fixture
def sign_out(console_url: str) -> Callable[[Page], Page]:
    def sign_out_(page: Page) -> Page:
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url(lambda url: url.rstrip("/") == console_url)
        expect(page.get_by_role("link", name="Sign in")).to_be_visible()
        return page

    return sign_out_


@pytest.fixture(scope="session")
def screenshot() -> Callable[[Page, str], Path | None]:
    folder = os.environ.get("CONSOLE_SCREENSHOTS")

    def take(page: Page, name: str) -> Path | None:
        if not folder:
            return None
        target = Path(folder)
        if not target.is_absolute():
            target = ROOT / target
        target.mkdir(parents=True, exist_ok=True)
        path = target / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
