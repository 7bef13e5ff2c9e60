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


class CountedReads:
    """The tallies as they are, each read counted (what the overview costs the database)."""

    def __init__(self, tallies) -> None:
        self.tallies, self.reads = tallies, 0

    def __getattr__(self, name):
        return getattr(self.tallies, name)

    def get(self, key):
        self.reads += 1
        return self.tallies.get(key)

    def find(self, tags):
        self.reads += 1
        return self.tallies.find(tags)


def test_every_sites_figures_cost_the_same_reads_for_2_sites_as_for_30(api_env, clock, auth):
    """The overview's one call reads the unread tallies once and each day's failures once, for
    all sites together: 30 sites do not cost 15 times the reads of 2 (the page's wait)."""

    def reads_for(sites: int) -> tuple[int, dict]:
        c = bootstrap.in_memory(clock)
        c.repositories.site_zones.zones.update({f"site-{n}": "Europe/London" for n in range(sites)})
        counted = CountedReads(c.repositories.inbox.tallies)
        c.repositories.inbox.tallies = c.repositories.figures.tallies = counted
        referral_received(c, "ref-1", "site-1")  # fails for good: a failure and an inbox item
        assert services.dispatch_due(c) == 1
        counted.reads = 0
        rows = by_site(
            create_app(c)
            .test_client()
            .get("/v1/notification-figures", headers=auth("operator", []))
        )
        return counted.reads, rows

    few, rows_few = reads_for(2)
    many, rows_many = reads_for(30)

    assert many == few
    assert (
        rows_many["site-1"]
        == rows_few["site-1"]
        == {
            "site_id": "site-1",
            "unread_inbox": 1,
            "failed_deliveries_7d": 1,
        }
    )
    assert rows_many["site-29"] == {
        "site_id": "site-29",
        "unread_inbox": 0,
        "failed_deliveries_7d": 0,
    }
