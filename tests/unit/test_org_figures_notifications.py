"""Notifications' organisation-wide figures (``GET /v1/notification-figures``: every site in one
call, a coordinator's sites only) and the list behind the failed-deliveries figure
(``GET /v1/sites/{id}/failed-deliveries``: the week's deliveries that failed for good, audited)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dbt_shared.contracts import CATALOG, intake
from dbt_shared.events.envelope import new_event
from notifications import bootstrap, services
from notifications.app import create_app

SITE, OTHER = "site-1", "site-2"


@pytest.fixture
def notifications(clock):
    c = bootstrap.in_memory(clock)
    c.repositories.site_zones.zones.update({SITE: "Europe/London", OTHER: "Europe/London"})
    return c


@pytest.fixture
def client(api_env, notifications):
    return create_app(notifications).test_client()


def referral_received(components, referral_id: str, site_id: str = SITE) -> None:
    event = new_event(
        "intake",
        intake.REFERRAL_RECEIVED,
        key=referral_id,
        subject=f"referrals/{referral_id}",
        data={
            "referral_id": referral_id,
            "site_id": site_id,
            "program": "adult",
            "received_at": components.clock.now().isoformat(),
        },
        clock=components.clock,
        catalog=CATALOG,
    )
    services.on_referrals_received([(event, CATALOG.load(event.type, event.data))], components)


def by_site(answer) -> dict[str, dict]:
    assert answer.status_code == 200, answer.json
    return {row["site_id"]: row for row in answer.json["items"]}


def test_every_site_in_one_call_the_same_rows_as_each_sites_figures(client, notifications, auth):
    operator = auth("operator", [])
    referral_received(notifications, "ref-1")  # intake does not know the site: fails at once
    assert services.dispatch_due(notifications) == 1

    rows = by_site(client.get("/v1/notification-figures", headers=operator))
    one = client.get(f"/v1/sites/{SITE}/notification-figures", headers=operator)

    assert rows[SITE] == {"site_id": SITE, "unread_inbox": 1, "failed_deliveries_7d": 1}
    assert rows[OTHER] == {"site_id": OTHER, "unread_inbox": 0, "failed_deliveries_7d": 0}
    assert rows[SITE] == one.json


def test_a_coordinator_sees_only_their_sites_and_a_therapist_nothing(client, auth):
    seen = by_site(client.get("/v1/notification-figures", headers=auth("coordinator", OTHER)))
    refused = client.get("/v1/notification-figures", headers=auth("therapist", SITE))

    assert set(seen) == {OTHER}
    assert refused.status_code == 403


def test_the_failed_deliveries_behind_the_figure_for_a_week_audited(client, notifications, auth):
    operator = auth("operator", [])
    referral_received(notifications, "ref-1")
    assert services.dispatch_due(notifications) == 1

    listed = client.get(f"/v1/sites/{SITE}/failed-deliveries", headers=operator)
    notifications.clock.advance(timedelta(days=7))
    a_week_on = client.get(f"/v1/sites/{SITE}/failed-deliveries", headers=operator)

    assert listed.status_code == 200, listed.json
    [failed] = listed.json["items"]
    assert failed["purpose"] == "referral_received"
    assert failed["attempts"] == 1
    assert a_week_on.json["items"] == []
    assert notifications.repositories.audit.actions().count("delivery.list_failed") == 2


def test_another_sites_coordinator_and_a_therapist_see_no_failed_deliveries(
    client, notifications, auth
):
    referral_received(notifications, "ref-1")
    services.dispatch_due(notifications)

    elsewhere = client.get(
        f"/v1/sites/{SITE}/failed-deliveries", headers=auth("coordinator", OTHER)
    )
    therapist = client.get(f"/v1/sites/{SITE}/failed-deliveries", headers=auth("therapist", SITE))

    assert elsewhere.status_code == 404 and "items" not in elsewhere.json
    assert therapist.status_code == 403
