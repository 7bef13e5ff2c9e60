"""Notifications' new reach on the in-memory wiring with a fixed clock: coaching alerts by SMS
at once whatever the hour, the welcome, reminders that follow the calendar and wait for the SMS
window, STOP, preferences, the delivery audit. What a clinic would notice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dbt_shared.clock import FixedClock
from dbt_shared.contracts import CATALOG, coaching, skills
from dbt_shared.events.envelope import new_event
from notifications import bootstrap, services
from notifications.domain import sms as sms_rules
from notifications.services import alerts, people, reminders

SITE = "site-1"
CLIENT, THERAPIST, GROUP = "client-1", "clin-1", "group-1"
CLIENT_PHONE, CLINICIAN_PHONE = "+13125550101", "+13125550199"


def at(hour: int, minute: int = 0) -> datetime:
    # Chicago is UTC-6 in early March
    return datetime(2026, 3, 3, hour + 6, minute, tzinfo=UTC)


@pytest.fixture
def clock():
    return FixedClock(at(10))


@pytest.fixture
def c(clock):
    components = bootstrap.in_memory(clock)
    components.repositories.site_zones.zones[SITE] = "America/Chicago"
    components.contacts.sites[SITE] = {
        "intake_email": "intake@clinic.example.org",
        "clinical_lead": {"email": "lead@clinic.example.org"},
    }
    components.contacts.people[CLIENT] = {
        "channels": {"email": "client@example.org", "sms": CLIENT_PHONE},
        "preferred_channel": "sms",
        "timezone": "America/Chicago",
    }
    components.contacts.people[THERAPIST] = {
        "channels": {"email": "tess@clinic.example.org", "sms": CLINICIAN_PHONE},
        "timezone": "America/Chicago",
    }
    return components


def handle(c, type_: str, data: dict, use_case) -> None:
    event = new_event(
        "test", type_, key="k", subject="s", data=data, clock=c.clock, catalog=CATALOG
    )
    use_case([(event, CATALOG.load(type_, event.data))], c)


def run_timers(c) -> None:
    reminders.promote_due(c)
    services.dispatch_due(c)


def coaching_request(c, *, crisis: bool = False) -> None:
    handle(
        c,
        coaching.REQUEST_CREATED,
        {
            "request_id": "req-12345678",
            "client_id": CLIENT,
            "site_id": SITE,
            "kind": "crisis" if crisis else "skills",
            "status": "open",
            "crisis": crisis,
            "routed_to": THERAPIST,
            "notified": [THERAPIST],
            "notify_clinical_lead": False,
            "notify_site_intake": False,
            "acknowledge_by": None,
            "call_back_by": None,
            "created_at": c.clock.now().isoformat(),
        },
        alerts.on_coaching_requests,
    )


def test_a_crisis_request_at_3am_reaches_the_clinician_by_sms_at_once(c, clock):
    clock.advance(at(3) - clock.now() + timedelta(days=1))  # 03:00 the next night
    coaching_request(c, crisis=True)
    services.dispatch_due(c)
    assert [m.to for m in c.sms.sent] == [CLINICIAN_PHONE]
    assert "988" in c.sms.sent[0].body and "STOP" in c.sms.sent[0].body
    mine, _ = c.repositories.inbox.mine(THERAPIST, limit=10, cursor=None)
    assert [i["kind"] for i in mine] == ["coaching_request"]


def enroll(c, first_starts: datetime) -> None:
    handle(
        c,
        skills.ENROLLMENT_CREATED,
        {
            "enrollment_id": "enr-1",
            "client_id": CLIENT,
            "group_id": GROUP,
            "site_id": SITE,
            "program_id": "prog-1",
            "first_session_id": "sess-1",
            "first_session_starts_at": first_starts.isoformat(),
            "placed_by": "rolling_admission",
            "enrolled_at": c.clock.now().isoformat(),
        },
        reminders.on_enrollments,
    )


def session(sid: str, starts: datetime, status: str = "planned") -> dict:
    return {
        "id": sid,
        "group_id": GROUP,
        "site_id": SITE,
        "date": starts.astimezone(UTC).date().isoformat(),
        "starts_at": starts.isoformat(),
        "room": "Room 2",
        "status": status,
    }


def test_the_welcome_and_the_two_hour_reminder_go_by_sms_on_time(c, clock):
    starts = clock.now() + timedelta(hours=2, minutes=1)
    c.sessions.by_group[GROUP] = [session("sess-1", starts)]
    enroll(c, starts)
    services.dispatch_due(c)
    assert len(c.sms.sent) == 1 and "Welcome" in c.sms.sent[0].body  # the welcome
    clock.advance(timedelta(seconds=50))
    run_timers(c)
    assert len(c.sms.sent) == 1  # not due yet
    clock.advance(timedelta(seconds=15))
    run_timers(c)
    assert len(c.sms.sent) == 2
    reminder = c.sms.sent[1].body
    assert (
        "12:01" in reminder and "Room 2" in reminder and reminder.endswith("Reply STOP to opt out.")
    )


def test_moving_the_session_moves_the_reminder(c, clock):
    starts = clock.now() + timedelta(hours=2, minutes=1)
    c.sessions.by_group[GROUP] = [session("sess-1", starts)]
    enroll(c, starts)
    services.dispatch_due(c)
    later = starts + timedelta(hours=3)
    handle(
        c,
        skills.SESSION_RESCHEDULED,
        {
            "session_id": "sess-1",
            "group_id": GROUP,
            "site_id": SITE,
            "starts_at": later.isoformat(),
            "previous_starts_at": starts.isoformat(),
            "room": "Room 2",
            "module": "M",
            "sequence": 1,
            "reason": "reschedule",
            "changed_at": clock.now().isoformat(),
        },
        reminders.on_sessions_moved,
    )
    services.dispatch_due(c)
    sent_before = len(c.sms.sent)  # the welcome and the notice of the move
    assert "15:01" in c.sms.sent[-1].body
    clock.advance(timedelta(minutes=2))
    run_timers(c)
    assert len(c.sms.sent) == sent_before  # nothing at the old time
    clock.advance(timedelta(hours=3))
    run_timers(c)
    assert "15:01" in c.sms.sent[-1].body


def test_an_sms_reminder_due_at_3am_waits_for_8am(c, clock):
    clock.advance(at(2, 30) - clock.now() + timedelta(days=1))
    starts = clock.now() + timedelta(hours=2, minutes=30)  # 05:00: its reminder is due at 03:00
    c.sessions.by_group[GROUP] = [session("sess-1", starts)]
    enroll(c, starts)
    clock.advance(timedelta(minutes=31))
    run_timers(c)
    assert all("Reminder" not in m.body for m in c.sms.sent)
    held = [
        d
        for d in c.repositories.deliveries.store.documents.values()
        if d["purpose"] == "session_reminder" and d.get("held_until")
    ]
    assert held or any(
        d["status"] == "dropped" for d in c.repositories.deliveries.store.documents.values()
    )


def test_stop_stops_sms_and_a_forged_call_is_refused(c, clock):
    url = "https://notifications.example.org/v1/sms/inbound"
    form = {"From": CLIENT_PHONE, "Body": "STOP"}
    with pytest.raises(Exception, match="not signed"):
        people.inbound_sms(url, form, "forged", c)
    signature = sms_rules.signature(c.sms_auth_token, url, form)
    people.inbound_sms(url, form, signature, c)
    starts = clock.now() + timedelta(hours=2, minutes=1)
    c.sessions.by_group[GROUP] = [session("sess-1", starts)]
    enroll(c, starts)
    clock.advance(timedelta(minutes=2))
    run_timers(c)
    assert c.sms.sent == []
    assert "opted out" in str(
        [d.get("last_error") for d in c.repositories.deliveries.store.documents.values()]
    )


def test_the_delivery_audit_lists_scheduled_reminders_without_addresses(c, clock):
    from dbt_shared.auth import Principal

    starts = clock.now() + timedelta(hours=30)
    c.sessions.by_group[GROUP] = [session("sess-1", starts)]
    enroll(c, starts)
    coordinator = Principal("coord", frozenset({"coordinator"}), frozenset({SITE}))
    items, _ = people.list_deliveries(
        {"site_id": SITE, "limit": 50, "cursor": None, "status": "scheduled"}, c, coordinator
    )
    assert {d["purpose"] for d in items} == {"session_reminder"}
    assert CLIENT_PHONE not in str(items) and "client@example.org" not in str(items)


def test_facilitators_get_tomorrows_sessions_with_counts_at_5pm(c, clock):
    from notifications.services import digest

    c.contacts.people["fac-1"] = {"channels": {"email": "fac@clinic.example.org"}}
    tomorrow = clock.now() + timedelta(days=1)
    c.sessions.by_group[GROUP] = [
        {**session("sess-9", tomorrow), "facilitator_ids": ["fac-1"]},
    ]
    enroll(c, tomorrow)
    assert digest.send_digests(c) == 0  # 10:00: not yet
    clock.advance(timedelta(hours=7))
    assert digest.send_digests(c) == 1
    assert digest.send_digests(c) == 0  # once a day
    services.dispatch_due(c)
    [mail] = [m for m in c.sender.sent if m.to == "fac@clinic.example.org"]
    assert "10:00" in mail.body and "1" in mail.body and "Given" not in mail.body
