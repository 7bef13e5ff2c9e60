"""Notification rules, free of Flask, Kafka and MongoDB: message texts, retry schedule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

# Message texts stay generic: no client name, contact detail or clinical content, ever.
_REFERRAL_SUBJECT = "New referral received"
_REFERRAL_BODY = (
    "A new referral was received for your site.\n\n"
    "Reference: {referral_id}\n\n"
    "Open the intake inbox of the DBT platform to review it. "
    "No client details are sent by email.\n"
)


@dataclass(frozen=True)
class EmailMessage:
    subject: str
    body: str


def referral_received_email(referral_id: str) -> EmailMessage:
    return EmailMessage(_REFERRAL_SUBJECT, _REFERRAL_BODY.format(referral_id=referral_id))


class DeliveryStatus:
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    first_delay: timedelta = timedelta(seconds=5)
    max_delay: timedelta = timedelta(minutes=10)

    def next_attempt_at(self, attempts_made: int, now: datetime) -> datetime | None:
        """When to retry after ``attempts_made`` failures; ``None`` when it is time to give up."""
        if attempts_made >= self.max_attempts:
            return None
        delay = min(self.first_delay * (2 ** (attempts_made - 1)), self.max_delay)
        return now + delay
