"""A site inbox's read marks and unread count over HTTP on the in-memory wiring: the count is a
kept tally (no count of the inbox), one item marked read by two people counts once, and
another site's staff learn nothing."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from dbt_shared.contracts import CATALOG, intake
from dbt_shared.events.envelope import new_event
from notifications import bootstrap, services
from notifications.app import create_app

SITE = "site-1"


@pytest.fixture
def notifications(clock):
    return bootstrap.in_memory(clock)


@pytest.fixture
def client(api_env, notifications):
    return create_app(notifications).test_client()


def referral_received(components, referral_id: str, site_id: str = SITE):
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
    return event


def unread(client, headers, site_id: str = SITE) -> int:
    answer = client.get(f"/v1/sites/{site_id}/inbox/unread-count", headers=headers)
    assert answer.status_code == 200, answer.json
    return answer.json["unread"]


def item_ids(client, headers) -> list[str]:
    return [i["id"] for i in client.get(f"/v1/inbox?site_id={SITE}", headers=headers).json["items"]]


def test_a_coordinator_marks_items_read_and_the_unread_count_follows(client, notifications, auth):
    coordinator = auth("coordinator", SITE)
    events = [referral_received(notifications, f"ref-{n}") for n in range(3)]
    again = [(events[0], CATALOG.load(events[0].type, events[0].data))]
    services.on_referrals_received(again, notifications)  # redelivered: one item, counted once
    first, second, _ = item_ids(client, coordinator)
    assert unread(client, coordinator) == 3

    marked = client.post(f"/v1/sites/{SITE}/inbox/{first}/read", headers=coordinator)
    again = client.post(f"/v1/sites/{SITE}/inbox/{first}/read", headers=coordinator)
    client.post(f"/v1/sites/{SITE}/inbox/{second}/read", headers=coordinator)

    assert marked.status_code == 200 and marked.json["read_at"]
    assert again.status_code == 200 and again.json["read_at"] == marked.json["read_at"]
    assert unread(client, coordinator) == 1
    listed = client.get(f"/v1/inbox?site_id={SITE}", headers=coordinator).json["items"]
    assert [bool(i.get("read_at")) for i in listed] == [True, True, False]
    marks = [
        e for e in notifications.repositories.audit.entries if e["action"] == "inbox.mark_read"
    ]
    assert [(e["object_id"], e["site_id"]) for e in marks] == [
        (first, SITE),
        (first, SITE),
        (second, SITE),
    ]


def test_the_unread_count_is_the_tally_not_a_count_of_the_inbox(client, notifications, auth):
    coordinator = auth("coordinator", SITE)
    referral_received(notifications, "ref-1")
    inbox = notifications.repositories.inbox
    counted = []
    real_count = inbox.store.count
    inbox.store.count = lambda *a, **k: counted.append(a) or real_count(*a, **k)

    assert unread(client, coordinator) == 1
    assert counted == []
    assert inbox.recount_unread(SITE) == 1  # the hourly recount agrees


def test_the_hourly_recount_looks_only_at_sites_whose_inbox_changed_lately(notifications):
    inbox = notifications.repositories.inbox
    referral_received(notifications, "ref-1")
    referral_received(notifications, "ref-2", site_id="site-2")
    notifications.clock.advance(timedelta(hours=23))
    assert inbox.recount_changed_sites() == {SITE, "site-2"}, "the first run looks back a day"
    notifications.clock.advance(timedelta(hours=1))
    assert inbox.recount_changed_sites() == set(), "a quiet hour since: no site to recount"

    (item,) = inbox.page(SITE, limit=10, cursor=None)[0]
    inbox.mark_read(SITE, item["_id"], "coord", notifications.clock.now())  # read: a change
    notifications.clock.advance(timedelta(hours=1))
    assert inbox.recount_changed_sites() == {SITE}
    assert inbox.recount_changed_sites() == {SITE}, "a change in the last run's hour: again"
    notifications.clock.advance(timedelta(hours=1))
    assert inbox.recount_changed_sites() == set()


def test_two_people_marking_one_item_at_once_count_it_once(client, notifications, auth):
    coordinator = auth("coordinator", SITE)
    for n in range(2):
        referral_received(notifications, f"ref-{n}")
    first, _ = item_ids(client, coordinator)
    inbox = notifications.repositories.inbox
    start = threading.Barrier(8)

    def mark() -> None:
        start.wait()
        inbox.mark_read(SITE, first, "someone", notifications.clock.now())

    threads = [threading.Thread(target=mark) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert unread(client, coordinator) == 1


def test_another_sites_staff_and_other_roles_learn_nothing(client, notifications, auth):
    referral_received(notifications, "ref-1")
    coordinator = auth("coordinator", SITE)
    (item,) = item_ids(client, coordinator)
    elsewhere = auth("coordinator", "site-2")
    therapist = auth("therapist", SITE)

    other_mark = client.post(f"/v1/sites/site-2/inbox/{item}/read", headers=elsewhere)
    cross = client.post(f"/v1/sites/{SITE}/inbox/{item}/read", headers=elsewhere)
    other_count = client.get(f"/v1/sites/{SITE}/inbox/unread-count", headers=elsewhere)
    by_therapist = client.post(f"/v1/sites/{SITE}/inbox/{item}/read", headers=therapist)
    missing = client.post(f"/v1/sites/{SITE}/inbox/no-such-item/read", headers=coordinator)

    assert other_mark.status_code == 404 and cross.status_code == 404
    assert other_count.status_code == 404 and by_therapist.status_code == 403
    assert missing.status_code == 404
    assert unread(client, coordinator) == 1


# -- a site's figures for the operators' overview ------------------------------------------------
def test_a_sites_figures_count_unread_items_and_the_weeks_failed_deliveries(
    client, notifications, auth
):
    operator = auth("operator", [])
    referral_received(notifications, "ref-1")  # intake does not know the site: fails at once
    assert services.dispatch_due(notifications) == 1

    figures = client.get(f"/v1/sites/{SITE}/notification-figures", headers=operator)
    notifications.clock.advance(timedelta(days=7))
    a_week_on = client.get(f"/v1/sites/{SITE}/notification-figures", headers=operator)
    elsewhere = client.get(
        f"/v1/sites/{SITE}/notification-figures", headers=auth("coordinator", "site-2")
    )

    assert figures.status_code == 200
    assert figures.json == {"site_id": SITE, "unread_inbox": 1, "failed_deliveries_7d": 1}
    assert a_week_on.json["failed_deliveries_7d"] == 0
    assert elsewhere.status_code == 404


def test_a_recount_that_fails_is_made_by_the_next_run(notifications):
    inbox = notifications.repositories.inbox
    referral_received(notifications, "ref-1")
    notifications.clock.advance(timedelta(hours=5))
    real = inbox.recount_unread

    def database_away(site_id):
        raise ConnectionError("database away")

    inbox.recount_unread = database_away
    with pytest.raises(ConnectionError):
        inbox.recount_changed_sites()
    inbox.recount_unread = real
    notifications.clock.advance(timedelta(hours=3))
    assert inbox.recount_changed_sites() == {SITE}, "still looked at: the failed run's look-back"
