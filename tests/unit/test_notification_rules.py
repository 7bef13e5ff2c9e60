"""Notification rules: generic texts and a bounded retry schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from notifications.domain.messages import referral_received_email
from notifications.domain.retries import RetryPolicy


def test_referral_email_is_generic_and_carries_only_the_reference():
    message = referral_received_email("01a2-ref")
    assert "01a2-ref" in message.body
    assert message.subject == "New referral received"
    assert "No client details" in message.body


def test_retries_back_off_then_give_up():
    policy = RetryPolicy(
        max_attempts=4, first_delay=timedelta(seconds=5), max_delay=timedelta(seconds=12)
    )
    now = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
    assert policy.next_attempt_at(1, now) == now + timedelta(seconds=5)
    assert policy.next_attempt_at(2, now) == now + timedelta(seconds=10)
    assert policy.next_attempt_at(3, now) == now + timedelta(seconds=12)
    assert policy.next_attempt_at(4, now) is None


def test_the_retry_schedule_says_how_long_it_keeps_trying():
    policy = RetryPolicy(
        max_attempts=4, first_delay=timedelta(seconds=5), max_delay=timedelta(seconds=12)
    )
    assert policy.gives_up_after() == timedelta(seconds=5 + 10 + 12)
    assert RetryPolicy(max_attempts=1).gives_up_after() == timedelta(0)


def test_a_long_retry_schedule_stays_at_its_cap():
    now = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
    policy = RetryPolicy(max_attempts=1000)
    assert policy.next_attempt_at(999, now) == now + timedelta(minutes=10)
