"""The ops page in a real browser, signed in through Keycloak as oscar (the organisation-wide
``ops`` role), against the test stack with its Prometheus and Alertmanager (the ``monitoring``
fixture): the charts the console's server drew from Prometheus, each with its table, on each
screen; the range picker; axe on every screen. Screenshots ``ops-*.png`` with
CONSOLE_SCREENSHOTS."""

from __future__ import annotations

import re
import time
import uuid

import pytest
import requests
from playwright.sync_api import Page, expect

from console.domain import ops_panels
from devstack import mint_token

#: How long Prometheus may take to have two scrapes of every api (5 s apart locally) on a busy
#: machine, so a rate has something to draw.
DATA_DEADLINE_S = 120


def charts_drawn(page: Page, panel: str, rows: tuple[str, ...] = ()) -> None:
    """Reload until the panel's chart is drawn from data (Prometheus has scraped enough) and
    its table has a row for each of ``rows`` (each api is scraped on its own 5 s beat: the
    first with two scrapes draws the chart before the others have theirs)."""
    section = page.locator(f'section[aria-labelledby="panel-{panel}"]')
    chart = section.locator('[data-chart="ops"]')

    def missing() -> list[str]:
        table = section.locator("table")
        return [
            row for row in rows if table.get_by_role("rowheader", name=row, exact=True).count() == 0
        ]

    deadline = time.monotonic() + DATA_DEADLINE_S
    while chart.count() == 0 or missing():
        assert time.monotonic() < deadline, (
            f"no data for {panel} after {DATA_DEADLINE_S} s (missing rows: {missing()})"
        )
        page.wait_for_timeout(3000)  # Prometheus scrapes every 5 s: look again after a while
        page.reload()
    expect(chart).to_have_attribute("data-drawn", "true")
    expect(chart.locator("canvas")).to_have_count(1)


@pytest.mark.timeout(600)
def test_oscar_reads_the_platforms_health_on_the_ops_page(
    monitoring, console_profile, page, sign_in, axe_check, screenshot
):
    sign_in(page, "oscar")

    # The ops role's home is the ops page: services first, the alerts on top.
    expect(page).to_have_title(re.compile("^Operations: Services"))
    expect(page.get_by_role("heading", name="Alerts firing now")).to_be_visible()
    expect(page.get_by_test_id("unavailable")).to_have_count(0)  # Prometheus answers
    charts_drawn(page, "request-rate", rows=("intake", "skills-group", "coaching", "notifications"))
    # the table behind the chart names each api scraped
    table = page.locator('section[aria-labelledby="panel-request-rate"] table')
    for service in ("intake", "skills-group", "coaching", "notifications"):
        expect(table.get_by_role("rowheader", name=service, exact=True)).to_be_visible()
    axe_check(page)
    screenshot(page, "ops-services")

    # The range picker: a link, swapped in by htmx, the address kept for the back button.
    page.get_by_role("link", name="Last 15 minutes").click()
    expect(page).to_have_url(re.compile(r"/ops\?range=15m$"))
    expect(page.get_by_role("link", name="Last 15 minutes")).to_have_attribute(
        "aria-current", "page"
    )
    charts_drawn(page, "latency-p95")
    axe_check(page)

    # The event backbone, the range kept: a site registered through intake's API gives events
    # published on dbt.intake.events and consumed by the other services.
    registered = requests.post(
        console_profile.api_url("intake") + "/v1/sites",
        json={
            "name": f"Ops check {uuid.uuid4().hex[:6]}",
            "timezone": "Europe/London",
            "intake_email": "intake@clinic.example.org",
        },
        headers={
            "Authorization": f"Bearer {mint_token(['operator'], [], 'ops-browser-test')}",
            "Idempotency-Key": str(uuid.uuid4()),
        },
        timeout=30,
    )
    assert registered.status_code == 201, registered.text
    page.get_by_role("link", name="Events", exact=True).click()
    expect(page).to_have_url(re.compile(r"/ops/events\?range=15m$"))
    expect(page).to_have_title(re.compile("^Operations: Events"))
    charts_drawn(page, "events-published", rows=("dbt.intake.events",))
    published = page.locator('section[aria-labelledby="panel-events-published"] table')
    expect(published.get_by_role("rowheader", name="dbt.intake.events")).to_be_visible()
    expect(page.locator('section[aria-labelledby="panel-consumer-lag"]')).to_be_visible()
    axe_check(page)
    screenshot(page, "ops-events")

    page.get_by_role("link", name="Deliveries and response times").click()
    expect(page).to_have_title(re.compile("^Operations: Deliveries"))
    expect(page.get_by_test_id("panel")).to_have_count(len(ops_panels.DELIVERIES.panels))
    expect(page.get_by_role("heading", name="Oldest safety alert not delivered")).to_be_visible()
    axe_check(page)
    screenshot(page, "ops-deliveries")
