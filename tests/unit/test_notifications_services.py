"""Notifications' use cases on the in-memory wiring with a fixed clock: what a site would notice.

A referral or a risk flag leaves one inbox item and one email, however often the event arrives;
alerts come first, in the inbox and on the wire; a failed send is retried, and a safety alert is
never given up; quiet hours hold routine mail only; the inbox pages without losing an item.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from dbt_shared import correlation
from dbt_shared.auth import Principal
from dbt_shared.clock import FixedClock
from dbt_shared.contracts import CATALOG, intake
from dbt_shared.contracts import notifications as contract
from dbt_shared.errors import NotFound
from dbt_shared.events.envelope import Event, new_event
from dbt_shared.problems import Problem
from notifications import bootstrap, services
from notifications.domain.quiet_hours import QuietHours
from notifications.domain.retries import RetryPolicy

SITE = "site-1"
OTHER_SITE = "site-2"
INTAKE_EMAIL = "intake@riverside.example.org"
LEAD_EMAIL = "lead@riverside.example.org"
COORDINATOR = Principal("coord-1", frozenset({"coordinator"}), frozenset({SITE}))


@pytest.fixture
def notifications(clock):
    components = bootstrap.in_memory(clock, normal_retry=RetryPolicy(max_attempts=3))
    components.contacts.sites[SITE] = {
        "id": SITE,
        "timezone": "America/Chicago",
        "intake_email": INTAKE_EMAIL,
        "clinical_lead": {"email": LEAD_EMAIL},
    }
    return components


def _event(type_: str, data: dict, clock) -> Event:
    return new_event(
        "intake",
        type_,
        key=data["referral_id"],
        subject=f"referrals/{data['referral_id']}",
        data=data,
        clock=clock,
        catalog=CATALOG,
    )


def referral_received(components, referral_id: str = "ref-1", site_id: str = SITE) -> Event:
    """Intake's event, handled as the consumer hands it over (validated, deserialised)."""
    event = _event(
        intake.REFERRAL_RECEIVED,
        {
            "referral_id": referral_id,
            "site_id": site_id,
            "program": "adult",
            "received_at": components.clock.now().isoformat(),
        },
        components.clock,
    )
    services.on_referrals_received([(event, CATALOG.load(event.type, event.data))], components)
    return event


def risk_flagged(components, referral_id: str = "ref-9", site_id: str = SITE) -> Event:
    event = _event(
        intake.RISK_FLAGGED,
        {
            "referral_id": referral_id,
            "site_id": site_id,
            "screening_id": f"scr-{referral_id}",
            "level": "high",
            "flagged_at": components.clock.now().isoformat(),
        },
        components.clock,
    )
    services.on_risks_flagged([(event, CATALOG.load(event.type, event.data))], components)
    return event


def inbox(components, site_id: str = SITE, **query) -> services.InboxPage:
    return services.list_inbox(services.ListInbox(site_id, **query), components, COORDINATOR)


def deliveries(components) -> list[dict]:
    return components.repositories.deliveries.store.find({}, sort=[("created_at", 1)])


def outcome_events(components) -> list[Event]:
    return components.repositories.deliveries.store.events


# -- what intake's events leave behind -----------------------------------------------------------
def test_a_referral_leaves_one_inbox_item_and_one_pending_email_even_when_redelivered(
    notifications,
):
    event = referral_received(notifications)
    services.on_referrals_received(
        [(event, CATALOG.load(event.type, event.data))] * 2, notifications
    )  # the same event again, twice in one batch

    items = inbox(notifications).items
    assert [(i["kind"], i["referral_id"], i["priority"]) for i in items] == [
        ("referral_received", "ref-1", "normal")
    ]
    [email] = deliveries(notifications)
    assert (email["status"], email["recipient_kind"], email["purpose"]) == (
        "pending",
        "site_intake",
        "referral_received",
    )
    assert email["next_attempt_at"] == notifications.clock.now()


def test_a_risk_alert_is_urgent_and_heads_the_inbox_before_older_referrals(notifications):
    referral_received(notifications, "ref-1")
    notifications.clock.advance(timedelta(minutes=5))
    referral_received(notifications, "ref-2")
    notifications.clock.advance(timedelta(minutes=5))
    risk_flagged(notifications, "ref-9")

    items = inbox(notifications).items
    assert [(i["referral_id"], i["priority"]) for i in items] == [
        ("ref-9", "urgent"),
        ("ref-1", "normal"),
        ("ref-2", "normal"),
    ]
    assert items[0]["screening_id"] == "scr-ref-9"


# -- sending -------------------------------------------------------------------------------------
def test_a_due_email_is_sent_and_its_outcome_recorded_with_the_request_that_caused_it(
    notifications,
):
    with correlation.bound("4bf92f35-77b3-4da6-a3ce-929d0e0e4736"):
        referral_received(notifications, "ref-1")

    assert services.dispatch_due(notifications) == 1

    [sent] = notifications.sender.sent
    assert sent.to == INTAKE_EMAIL
    assert sent.subject == "New referral received"
    assert "Reference: ref-1" in sent.body and not sent.urgent
    [delivery] = deliveries(notifications)
    assert (delivery["status"], delivery["attempts"]) == ("sent", 1)
    assert delivery["sent_at"] == notifications.clock.now()
    assert delivery["fallback_recipient"] is False
    [event] = outcome_events(notifications)
    assert event.type == contract.DELIVERY_SENT
    assert event.data["delivery_id"] == delivery["_id"] == sent.delivery_id
    assert (event.data["attempts"], event.data["error"]) == (1, None)
    assert event.correlation_id == "4bf92f35-77b3-4da6-a3ce-929d0e0e4736"
    assert services.dispatch_due(notifications) == 0, "a sent email is not sent again"


def test_urgent_deliveries_go_out_before_older_routine_ones(notifications):
    referral_received(notifications, "ref-1")
    notifications.clock.advance(timedelta(seconds=1))
    risk_flagged(notifications, "ref-9")

    assert services.dispatch_due(notifications) == 2
    first, second = notifications.sender.sent
    assert (first.to, first.urgent) == (LEAD_EMAIL, True)
    assert first.subject.startswith("URGENT") and "988" in first.body
    assert (second.to, second.urgent) == (INTAKE_EMAIL, False)


def test_an_alert_falls_back_to_the_intake_address_and_says_so(notifications):
    notifications.contacts.sites[SITE] = {"id": SITE, "intake_email": INTAKE_EMAIL}
    risk_flagged(notifications)
    services.dispatch_due(notifications)
    assert [e.to for e in notifications.sender.sent] == [INTAKE_EMAIL]
    assert deliveries(notifications)[0]["fallback_recipient"] is True


def test_a_failed_send_is_retried_with_backoff_then_given_up_with_its_event(notifications):
    referral_received(notifications)
    notifications.sender.failures = [ConnectionRefusedError()] * 3
    start = notifications.clock.now()

    assert services.dispatch_due(notifications) == 1
    [delivery] = deliveries(notifications)
    assert (delivery["status"], delivery["attempts"]) == ("pending", 1)
    assert delivery["last_error"] == "ConnectionRefusedError"
    assert delivery["next_attempt_at"] == start + timedelta(seconds=5)
    notifications.clock.advance(timedelta(seconds=4))
    assert services.dispatch_due(notifications) == 0, "not before its retry is due"

    notifications.clock.advance(timedelta(seconds=1))
    assert services.dispatch_due(notifications) == 1
    assert deliveries(notifications)[0]["next_attempt_at"] == (
        notifications.clock.now() + timedelta(seconds=10)
    )
    assert outcome_events(notifications) == [], "no outcome while it is still retried"

    notifications.clock.advance(timedelta(seconds=10))
    assert services.dispatch_due(notifications) == 1  # the third and last attempt
    [delivery] = deliveries(notifications)
    assert (delivery["status"], delivery["attempts"]) == ("failed", 3)
    [event] = outcome_events(notifications)
    assert event.type == contract.DELIVERY_FAILED
    assert (event.data["attempts"], event.data["error"]) == (3, "ConnectionRefusedError")
    assert notifications.sender.sent == []


def test_a_safety_alert_is_never_given_up(notifications):
    risk_flagged(notifications)
    notifications.sender.failures = [ConnectionRefusedError()] * 40
    for _ in range(40):
        notifications.clock.advance(timedelta(seconds=30))
        assert services.dispatch_due(notifications) == 1
    [delivery] = deliveries(notifications)
    assert (delivery["status"], delivery["attempts"]) == ("pending", 40)
    assert delivery["next_attempt_at"] == notifications.clock.now() + timedelta(seconds=30)
    assert outcome_events(notifications) == []

    notifications.clock.advance(timedelta(seconds=30))
    assert services.dispatch_due(notifications) == 1
    assert [e.to for e in notifications.sender.sent] == [LEAD_EMAIL]
    assert [e.type for e in outcome_events(notifications)] == [contract.DELIVERY_SENT]


def test_a_site_intake_does_not_know_fails_at_once(notifications):
    referral_received(notifications, site_id="site-unknown")
    assert services.dispatch_due(notifications) == 1
    [delivery] = deliveries(notifications)
    assert (delivery["status"], delivery["attempts"]) == ("failed", 1)
    [event] = outcome_events(notifications)
    assert event.data["error"] == "site unknown to intake"


# -- quiet hours ---------------------------------------------------------------------------------
def test_quiet_hours_hold_routine_mail_till_morning_but_never_an_alert():
    # 09:00 UTC is 03:00 in Chicago (CST) in March, before the switch to summer time.
    clock = FixedClock(datetime(2026, 3, 3, 9, 0, tzinfo=UTC))
    components = bootstrap.in_memory(
        clock, quiet_hours={"email": QuietHours(start=time(21, 0), end=time(8, 0))}
    )
    components.contacts.sites[SITE] = {"intake_email": INTAKE_EMAIL}
    components.repositories.site_zones.zones[SITE] = "America/Chicago"
    referral_received(components, "ref-1")
    risk_flagged(components, "ref-9")

    assert services.dispatch_due(components) == 1
    assert [e.subject for e in components.sender.sent] == [
        "URGENT: high-risk screening needs a clinician now"
    ]
    held = next(d for d in deliveries(components) if d["purpose"] == "referral_received")
    assert (held["status"], held["attempts"]) == ("pending", 0)
    assert held["next_attempt_at"] == datetime(2026, 3, 3, 14, 0, tzinfo=UTC)  # 08:00 local

    clock.advance(timedelta(hours=4, minutes=59))
    assert services.dispatch_due(components) == 0
    clock.advance(timedelta(minutes=1))
    assert services.dispatch_due(components) == 1
    assert components.sender.sent[-1].subject == "New referral received"


# -- the inbox -----------------------------------------------------------------------------------
def test_the_inbox_pages_with_cursors_losing_and_repeating_nothing(notifications):
    for n in range(7):
        referral_received(notifications, f"ref-{n}")
        if n % 3 == 0:
            risk_flagged(notifications, f"risk-{n}")
        notifications.clock.advance(timedelta(seconds=1))
    referral_received(notifications, "elsewhere", site_id=OTHER_SITE)

    everything = inbox(notifications, limit=200)
    assert everything.next_cursor is None
    seen, cursor = [], None
    while True:
        page = inbox(notifications, limit=2, cursor=cursor)
        seen += page.items
        cursor = page.next_cursor
        if cursor is None:
            break
    assert [i["_id"] for i in seen] == [i["_id"] for i in everything.items]
    assert [i["referral_id"] for i in seen] == [
        "risk-0",
        "risk-3",
        "risk-6",
        *(f"ref-{n}" for n in range(7)),
    ]


def test_another_sites_inbox_is_not_disclosed(notifications):
    referral_received(notifications, "elsewhere", site_id=OTHER_SITE)
    with pytest.raises(NotFound):
        inbox(notifications, site_id=OTHER_SITE)


def test_a_cursor_the_inbox_did_not_give_out_is_refused(notifications):
    with pytest.raises(Problem) as bad:
        inbox(notifications, cursor="%%%not-a-cursor")
    assert bad.value.status == 422
    assert bad.value.errors[0]["field"] == "cursor"
