"""Risk alerts: a high-risk screening reaches the site's clinical lead at once, whatever the hour.

What a clinic would see go wrong: an alert held until morning, an alert naming the client, an
alert that gives up before a routine email would, an urgent item buried under referrals.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta

import pytest

from dbt_shared.clock import FixedClock
from dbt_shared.contracts import CATALOG, intake
from dbt_shared.events.envelope import new_event
from dbt_shared.ids import new_id
from dbt_shared.problems import Problem
from notifications import repository
from notifications.domain import notices, quiet_hours
from notifications.domain.deliveries import claim_order
from notifications.domain.messages import (
    EMAIL_TEMPLATES,
    EMERGENCY_ROUTE,
    referral_received_email,
    risk_flagged_email,
)
from notifications.domain.notices import referral_notice, risk_alert
from notifications.domain.purposes import Priority, Purpose
from notifications.domain.quiet_hours import QuietHours, may_send_now
from notifications.domain.recipients import NoRecipient, RecipientKind, resolve_recipient
from notifications.domain.retries import RetryPolicy, retry_policies

NIGHT = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
SMS_QUIET = QuietHours(start=time(21, 0), end=time(8, 0))

# What intake holds about the client and the screening: none of it may leave by email.
PHI = [
    "Jordan",
    "Rivera",
    "jordan.rivera@example.org",
    "+1 312 555 0100",
    "1994-03-17",
    "Yes, I have a plan",
    "PHQ-9",
    "C-SSRS",
]

SITE = {
    "id": "site-1",
    "name": "Riverside Clinic",
    "timezone": "America/Chicago",
    "intake_email": "intake@riverside.example.org",
}


# -- the email text ------------------------------------------------------------------------------
def test_risk_email_carries_the_reference_and_the_emergency_route_and_nothing_about_the_client():
    message = risk_flagged_email("01a2-ref")
    assert message.subject == "URGENT: high-risk screening needs a clinician now"
    assert "Reference: 01a2-ref" in message.body
    assert "open the dbt platform now" in message.body.lower()
    assert (
        "If the client is in immediate danger, call 988 (US Suicide & Crisis Lifeline) "
        "or the local emergency number." in message.body
    )
    assert EMERGENCY_ROUTE in message.body
    text = message.subject + message.body
    for phi in PHI:
        assert phi.lower() not in text.lower(), phi


def test_each_purpose_has_its_own_email_text():
    assert EMAIL_TEMPLATES[Purpose.RISK_FLAGGED]("r-1") == risk_flagged_email("r-1")
    assert EMAIL_TEMPLATES[Purpose.REFERRAL_RECEIVED]("r-1") == (referral_received_email("r-1"))
    assert EMERGENCY_ROUTE not in referral_received_email("r-1").body


# -- nothing holds a safety alert ----------------------------------------------------------------
@pytest.mark.parametrize("channel", ["email", "sms"])
def test_safety_alerts_may_go_at_three_in_the_morning_through_any_quiet_hours(channel):
    assert may_send_now(Purpose.RISK_FLAGGED, channel, time(3, 0), SMS_QUIET)
    assert may_send_now(Purpose.RISK_FLAGGED, channel, time(3, 0), None)


def test_routine_messages_wait_out_quiet_hours_that_span_midnight():
    assert not may_send_now(Purpose.REFERRAL_RECEIVED, "sms", time(3, 0), SMS_QUIET)
    assert not may_send_now(Purpose.REFERRAL_RECEIVED, "sms", time(21, 0), SMS_QUIET)
    assert may_send_now(Purpose.REFERRAL_RECEIVED, "sms", time(8, 0), SMS_QUIET)
    assert may_send_now(Purpose.REFERRAL_RECEIVED, "email", time(3, 0), None)


def test_quiet_hours_end_the_next_morning():
    evening = datetime(2026, 11, 25, 22, 30, tzinfo=UTC)
    assert SMS_QUIET.ends_after(evening) == datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    assert SMS_QUIET.ends_after(NIGHT) == datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def test_email_has_no_quiet_hours_yet():
    assert quiet_hours.QUIET_HOURS["email"] is None


# -- retries -------------------------------------------------------------------------------------
def test_urgent_deliveries_retry_after_two_seconds_doubling_to_a_thirty_second_cap():
    urgent = retry_policies(RetryPolicy())[Priority.URGENT]
    delays = [urgent.next_attempt_at(n, NIGHT) - NIGHT for n in range(1, 8)]
    assert delays == [timedelta(seconds=s) for s in (2, 4, 8, 16, 30, 30, 30)]


def test_normal_deliveries_keep_the_configured_schedule():
    normal = RetryPolicy(max_attempts=4)
    assert retry_policies(normal)[Priority.NORMAL] is normal


@pytest.mark.parametrize("failures", [1, 6, 20, 500])
def test_an_urgent_delivery_never_gives_up(failures):
    urgent = retry_policies(RetryPolicy(max_attempts=6))[Priority.URGENT]
    assert urgent.next_attempt_at(failures, NIGHT) is not None
    assert urgent.gives_up_after() is None


# -- the recipient -------------------------------------------------------------------------------
def test_a_clinical_lead_alert_goes_to_the_clinical_lead():
    site = {
        **SITE,
        "clinical_lead": {
            "name": "Dr. A. Lead",
            "email": "lead@riverside.example.org",
            "phone": "+1 312 555 0199",
        },
    }
    recipient = resolve_recipient(RecipientKind.SITE_CLINICAL_LEAD, site)
    assert recipient.address == "lead@riverside.example.org"
    assert not recipient.fallback


@pytest.mark.parametrize(
    "lead",
    [
        "absent",
        None,
        {},
        {"name": "Dr. A. Lead", "email": None, "phone": "+1 312 555 0199"},
        {"name": "Dr. A. Lead", "email": "  "},
    ],
)
def test_without_a_clinical_lead_email_the_alert_falls_back_to_the_intake_address(lead):
    site = dict(SITE) if lead == "absent" else {**SITE, "clinical_lead": lead}
    recipient = resolve_recipient(RecipientKind.SITE_CLINICAL_LEAD, site)
    assert recipient.address == "intake@riverside.example.org"
    assert recipient.fallback


def test_referral_emails_still_go_to_the_intake_address():
    site = {**SITE, "clinical_lead": {"email": "lead@riverside.example.org"}}
    recipient = resolve_recipient(RecipientKind.SITE_INTAKE, site)
    assert recipient.address == "intake@riverside.example.org"
    assert not recipient.fallback


def test_no_address_at_all_is_a_permanent_failure():
    with pytest.raises(NoRecipient):
        resolve_recipient(RecipientKind.SITE_CLINICAL_LEAD, {"id": "site-1"})
    with pytest.raises(NoRecipient):
        resolve_recipient("site_janitor", SITE)


# -- urgent first: claiming deliveries -----------------------------------------------------------
def _sorted(docs: list[dict], spec: list[tuple[str, int]]) -> list[dict]:
    """Apply an ascending MongoDB sort spec to plain dicts (keys present in every doc)."""
    assert all(direction == 1 for _, direction in spec)
    return sorted(docs, key=lambda doc: tuple(doc[field] for field, _ in spec))


def test_the_dispatcher_claims_urgent_deliveries_before_older_normal_ones():
    due = [
        {"_id": "old-referral", "priority_rank": 1, "next_attempt_at": NIGHT - timedelta(hours=1)},
        {"_id": "alert", "priority_rank": 0, "next_attempt_at": NIGHT},
        {"_id": "referral", "priority_rank": 1, "next_attempt_at": NIGHT - timedelta(minutes=1)},
        {"_id": "earlier-alert", "priority_rank": 0, "next_attempt_at": NIGHT - timedelta(1)},
    ]
    order = [doc["_id"] for doc in _sorted(due, claim_order())]
    assert order == ["earlier-alert", "alert", "old-referral", "referral"]


# -- what the events leave behind ----------------------------------------------------------------
def _event(type_: str, data: dict):
    return new_event(
        "intake",
        type_,
        key=data["referral_id"],
        subject=f"referrals/{data['referral_id']}",
        data=data,
        clock=FixedClock(NIGHT),
        catalog=CATALOG,
    )


def _risk_event(referral_id: str = "ref-1"):
    return _event(
        intake.RISK_FLAGGED,
        {
            "referral_id": referral_id,
            "site_id": "site-1",
            "screening_id": "scr-1",
            "level": "high",
            "flagged_at": NIGHT.isoformat(),
        },
    )


def test_a_risk_flag_leaves_an_urgent_inbox_item_and_an_immediate_email_to_the_lead():
    event = _risk_event()
    item, email = risk_alert(event, {**event.data, "flagged_at": NIGHT}, NIGHT)
    assert item["kind"] == "risk_flagged"
    assert (item["priority"], item["priority_rank"]) == ("urgent", 0)
    assert (item["referral_id"], item["screening_id"]) == ("ref-1", "scr-1")
    assert (item["site_id"], item["status"], item["created_at"]) == ("site-1", "open", NIGHT)
    assert email["purpose"] == "risk_flagged"
    assert email["recipient_kind"] == "site_clinical_lead"
    assert (email["priority"], email["priority_rank"]) == ("urgent", 0)
    assert email["next_attempt_at"] == NIGHT
    assert (email["status"], email["attempts"], email["channel"]) == ("pending", 0, "email")
    assert email["subject_ref"] == "ref-1"
    # The site's own copy stays id-only.
    assert "level" not in item


def test_a_redelivered_risk_flag_names_the_same_records():
    event = _risk_event()
    first = risk_alert(event, event.data, NIGHT)
    again = risk_alert(event, event.data, NIGHT + timedelta(seconds=5))
    assert [doc["_id"] for doc in first] == [doc["_id"] for doc in again]
    other = _risk_event()
    assert {doc["_id"] for doc in risk_alert(other, other.data, NIGHT)}.isdisjoint(
        {doc["_id"] for doc in first}
    )


def test_referral_items_rank_after_alerts():
    event = _event(
        intake.REFERRAL_RECEIVED,
        {
            "referral_id": "ref-2",
            "site_id": "site-1",
            "program": "adult",
            "received_at": NIGHT.isoformat(),
        },
    )
    item, email = referral_notice(event, event.data, NIGHT)
    assert (item["kind"], item["priority"], item["priority_rank"]) == (
        "referral_received",
        "normal",
        1,
    )
    assert (email["recipient_kind"], email["priority_rank"]) == ("site_intake", 1)


# -- urgent first: the inbox ---------------------------------------------------------------------
def _matches(doc: dict, query: dict) -> bool:
    """Evaluate the few query forms ``repository.inbox_after`` builds ($or, $gt, equality)."""
    for field, condition in query.items():
        if field == "$or":
            if not any(_matches(doc, sub) for sub in condition):
                return False
        elif isinstance(condition, dict):
            if not doc[field] > condition["$gt"]:
                return False
        elif doc[field] != condition:
            return False
    return True


def _inbox(repositories, count: int) -> list[dict]:
    items = []
    for n in range(count):
        item = {
            "_id": f"{n:04d}-{uuid.uuid4()}",  # like ordered ids: in the order events happened
            "site_id": "site-1",
            "priority_rank": 0 if n % 3 == 0 else 1,
            "created_at": NIGHT + timedelta(milliseconds=n),
        }
        repositories.inbox.add_many([item])
        items.append(item)
    return items


@pytest.mark.parametrize("limit", [1, 2, 5, 12, 50])
def test_the_inbox_lists_urgent_items_first_then_the_rest_each_oldest_first(limit):
    repositories = repository.in_memory()
    items = _inbox(repositories, 150)
    expected = [i["_id"] for rank in (0, 1) for i in items if i["priority_rank"] == rank]
    seen: list[str] = []
    cursor = None
    while True:
        page, cursor = repositories.inbox.page("site-1", limit=limit, cursor=cursor)
        seen += [i["_id"] for i in page]
        if cursor is None:
            break
    assert seen == expected


def test_an_inbox_item_id_is_the_same_on_redelivery_and_sorts_by_event_time():
    class Ev:
        def __init__(self, id):
            self.id, self.dedup_key, self.correlation_id = id, f"intake/{id}", None

    early, late = Ev(str(new_id())), Ev(str(new_id()))
    assert notices.ordered_id(early, "inbox") == notices.ordered_id(early, "inbox")
    assert notices.ordered_id(early, "inbox") < notices.ordered_id(late, "inbox")


@pytest.mark.parametrize("cursor", ["%%%not-a-cursor", "abc", "zz"])
def test_a_cursor_the_inbox_did_not_give_out_is_a_422_problem(cursor):
    with pytest.raises(Problem) as bad:
        repository.in_memory().inbox.page("site-1", limit=5, cursor=cursor)
    assert bad.value.status == 422
    assert bad.value.errors == [
        {"field": "cursor", "location": "query", "message": "Invalid cursor."}
    ]
