"""Notification rules, free of Flask, Kafka and MongoDB: message texts, recipients, priorities,
when a message may go out, and the retry schedule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

# Message texts stay generic: no client name, contact detail or clinical content, ever.
_REFERRAL_SUBJECT = "New referral received"
_REFERRAL_BODY = (
    "A new referral was received for your site.\n\n"
    "Reference: {referral_id}\n\n"
    "Open the intake inbox of the DBT platform to review it. "
    "No client details are sent by email.\n"
)

# Every crisis path shows the emergency route (domain handbook, "Phone coaching").
EMERGENCY_ROUTE = (
    "If the client is in immediate danger, call 988 (US Suicide & Crisis Lifeline) "
    "or the local emergency number."
)
_RISK_FLAGGED_SUBJECT = "URGENT: high-risk screening needs a clinician now"
_RISK_FLAGGED_BODY = (
    "A screening at your site showed high risk. A clinician needs to respond now.\n\n"
    "Reference: {referral_id}\n\n"
    "Open the DBT platform now to review the screening and reach the client.\n\n"
    f"{EMERGENCY_ROUTE}\n\n"
    "No client details are sent by email.\n"
)


@dataclass(frozen=True)
class EmailMessage:
    subject: str
    body: str


def referral_received_email(referral_id: str) -> EmailMessage:
    return EmailMessage(_REFERRAL_SUBJECT, _REFERRAL_BODY.format(referral_id=referral_id))


def risk_flagged_email(referral_id: str) -> EmailMessage:
    """The clinical lead's alert: the referral reference and the emergency route, nothing else."""
    return EmailMessage(_RISK_FLAGGED_SUBJECT, _RISK_FLAGGED_BODY.format(referral_id=referral_id))


class Purpose:
    """Why a notification exists; the code carried by deliveries and their events."""

    REFERRAL_RECEIVED = "referral_received"
    RISK_FLAGGED = "risk_flagged"


# Safety messages to clinicians: no quiet hour, rate limit or program rule may hold them back.
SAFETY_PURPOSES = frozenset({Purpose.RISK_FLAGGED})


class Priority:
    URGENT = "urgent"
    NORMAL = "normal"


# Stored next to ``priority`` so that MongoDB can sort on it: lower comes first.
PRIORITY_RANKS = {Priority.URGENT: 0, Priority.NORMAL: 1}


def priority_rank(priority: str) -> int:
    return PRIORITY_RANKS[priority]


class RecipientKind:
    SITE_INTAKE = "site_intake"
    SITE_CLINICAL_LEAD = "site_clinical_lead"


class DeliveryStatus:
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


# -- recipients ----------------------------------------------------------------------------------
class NoRecipient(Exception):
    """The site gives no address for this kind of recipient; retrying cannot help."""


@dataclass(frozen=True)
class Recipient:
    address: str
    fallback: bool = False
    """True when the intended recipient had no address and the site's intake address stood in."""


def resolve_recipient(recipient_kind: str, site: dict[str, Any]) -> Recipient:
    """The address for ``recipient_kind`` in intake's site (``GET /v1/sites/{id}``).

    A clinical lead without an email falls back to the site's intake address, so that a safety
    alert still reaches a person at the site.
    """
    intake_email = _address(site.get("intake_email"))
    if recipient_kind == RecipientKind.SITE_CLINICAL_LEAD:
        lead = site.get("clinical_lead")
        lead_email = _address(lead.get("email")) if isinstance(lead, dict) else None
        if lead_email:
            return Recipient(lead_email)
        if intake_email:
            return Recipient(intake_email, fallback=True)
        raise NoRecipient("site has neither a clinical lead email nor an intake email")
    if recipient_kind == RecipientKind.SITE_INTAKE:
        if intake_email:
            return Recipient(intake_email)
        raise NoRecipient("site has no intake email")
    raise NoRecipient(f"no address for recipient kind {recipient_kind}")


def _address(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()


# -- when a message may go out -------------------------------------------------------------------
@dataclass(frozen=True)
class QuietHours:
    """Local hours in which a channel stays silent, e.g. SMS 21:00-08:00 (may span midnight)."""

    start: time
    end: time

    def contains(self, local_time: time) -> bool:
        if self.start <= self.end:
            return self.start <= local_time < self.end
        return local_time >= self.start or local_time < self.end

    def ends_after(self, local: datetime) -> datetime:
        """The first local moment at or after ``local`` when these quiet hours are over."""
        end = local.replace(
            hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0, fold=0
        )
        return end if end >= local else end + timedelta(days=1)


def may_send_now(
    purpose: str, channel: str, local_time: time, quiet_hours: QuietHours | None
) -> bool:
    """Whether a ``purpose`` message may leave on ``channel`` at the recipient's ``local_time``.

    Safety messages always may: no quiet hour, limit or program setting blocks the crisis route.
    Everything else waits out the channel's quiet hours, if it has any.
    """
    if purpose in SAFETY_PURPOSES:
        return True
    return quiet_hours is None or not quiet_hours.contains(local_time)


# -- retries -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RetryPolicy:
    """``max_attempts=None`` never gives up: safety alerts keep trying until they are sent."""

    max_attempts: int | None = 6
    first_delay: timedelta = timedelta(seconds=5)
    max_delay: timedelta = timedelta(minutes=10)

    def next_attempt_at(self, attempts_made: int, now: datetime) -> datetime | None:
        """When to retry after ``attempts_made`` failures; ``None`` when it is time to give up."""
        if self.max_attempts is not None and attempts_made >= self.max_attempts:
            return None
        return now + self.delay(attempts_made)

    def delay(self, attempts_made: int) -> timedelta:
        """The wait after the ``attempts_made``-th failure: doubling from the first, capped."""
        delay = self.first_delay
        for _ in range(attempts_made - 1):
            if delay >= self.max_delay:
                break  # doubling further only overflows
            delay *= 2
        return min(delay, self.max_delay)

    def gives_up_after(self) -> timedelta | None:
        """How long failures are retried before the delivery fails for good (``None``: never)."""
        if self.max_attempts is None:
            return None
        return sum((self.delay(n) for n in range(1, self.max_attempts)), timedelta())


# Urgent deliveries retry sooner and never give up: an alert about a client at risk is retried
# every 30 s until the mail relay and intake answer again (ops see it on the retry metric).
URGENT_RETRY = RetryPolicy(
    max_attempts=None, first_delay=timedelta(seconds=2), max_delay=timedelta(seconds=30)
)


def retry_policies(normal: RetryPolicy) -> dict[str, RetryPolicy]:
    """One retry schedule per priority, given the normal one (configured by the worker)."""
    return {Priority.URGENT: URGENT_RETRY, Priority.NORMAL: normal}
