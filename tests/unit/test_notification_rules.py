"""Notification rules: generic texts and a bounded retry schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from notifications.domain import RetryPolicy, referral_received_email


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
