"""A clinician who leaves a site: intake deactivates them and says so in an event, and what
other services gave them ends (skills-group's calendar feeds stop answering)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dbt_shared.auth import Principal
from dbt_shared.clock import FixedClock
from dbt_shared.contracts import intake as contract
from dbt_shared.errors import NotFound
from intake import bootstrap as intake_bootstrap
from intake.app import create_app as intake_app
from skills_group import bootstrap as skills_bootstrap
from skills_group import handlers as skills_handlers
from skills_group import services as skills

CLOCK = FixedClock(datetime(2027, 1, 4, 12, 0, tzinfo=UTC))


@pytest.fixture
def intake(api_env, auth):
    components = intake_bootstrap.in_memory(CLOCK)
    client = intake_app(components).test_client()
    operator = auth(["operator"], [], "op")
    site = client.post(
        "/v1/sites",
        json={"name": "Riverside", "timezone": "America/Chicago", "intake_email": "i@r.example"},
        headers=operator,
    ).json["id"]
    clinician = client.post(
        f"/v1/sites/{site}/clinicians",
        json={
            "subject": "idp|ana",
            "display_name": "Ana",
            "roles": ["facilitator"],
            "languages": ["en"],
        },
        headers=operator,
    ).json
    return components, client, operator, site, clinician


def test_an_operator_deactivates_a_clinician_and_intake_says_so_once(intake, auth):
    components, client, operator, site, clinician = intake
    path = f"/v1/sites/{site}/clinicians/{clinician['id']}/deactivation"

    assert client.post(path, headers=auth(["coordinator"], [site], "co")).status_code == 403
    first = client.post(path, headers=operator)
    again = client.post(path, headers=operator)

    assert first.status_code == 200 and first.json["active"] is False
    assert again.status_code == 200 and again.json["active"] is False
    (event,) = [
        e
        for e in components.repositories.clinicians.events
        if e.type == contract.CLINICIAN_DEACTIVATED
    ]
    assert event.data == {
        "clinician_id": clinician["id"],
        "site_id": site,
        "deactivated_at": CLOCK.now().isoformat(),
    }
    listed = client.get(f"/v1/sites/{site}/clinicians", headers=operator).json["items"]
    assert [c["active"] for c in listed] == [False]
    missing = client.post(f"/v1/sites/{site}/clinicians/nobody/deactivation", headers=operator)
    assert missing.status_code == 404


def test_skills_group_ends_the_deactivated_clinicians_feeds_on_intakes_event(intake):
    components, client, operator, site, clinician = intake
    registered = next(
        e
        for e in components.repositories.clinicians.events
        if e.type == contract.CLINICIAN_REGISTERED
    )
    group_side = skills_bootstrap.in_memory(CLOCK)
    group_side.repositories.sites.insert({"_id": site, "timezone": "America/Chicago"})
    run = skills_handlers.handlers(group_side)
    run[contract.CLINICIAN_REGISTERED](registered, registered.data, None)
    coordinator = Principal("co", frozenset({"coordinator"}), frozenset({site}))
    feed = skills.create_feed({"clinician_id": clinician["id"]}, group_side, coordinator)
    assert skills.feed_calendar(feed["secret"], group_side).startswith(b"BEGIN:VCALENDAR")

    client.post(f"/v1/sites/{site}/clinicians/{clinician['id']}/deactivation", headers=operator)
    (deactivated,) = [
        e
        for e in components.repositories.clinicians.events
        if e.type == contract.CLINICIAN_DEACTIVATED
    ]
    run[contract.CLINICIAN_DEACTIVATED](deactivated, deactivated.data, None)
    run[contract.CLINICIAN_DEACTIVATED](deactivated, deactivated.data, None)  # redelivered

    with pytest.raises(NotFound):
        skills.feed_calendar(feed["secret"], group_side)
