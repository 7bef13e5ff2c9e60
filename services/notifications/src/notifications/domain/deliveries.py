"""A delivery's life: pending until claimed, then sent, retried later, or failed for good.

The delivery is stored before anything is sent (accepted work is never lost); a worker that dies
mid-way finds it pending again when its lease runs out. Urgent deliveries (safety alerts to
clinicians) are claimed before normal ones and retried on their own schedule (``retries``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from notifications.domain.retries import RetryPolicy

# How long a claimed delivery is left to its claimer before another worker may take it.
LEASE = timedelta(seconds=60)


class DeliveryStatus:
    SCHEDULED = "scheduled"  # a reminder, waiting in the schedule for its minute
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"  # its session was cancelled or moved off, or the client left
    DROPPED = "dropped"  # held past its session's start


class PermanentFailure(Exception):
    """Retrying cannot help (e.g. the site does not exist, or gives no address)."""


class TransientFailure(Exception):
    """Retrying may help (the mail relay or intake did not answer). The message names the error
    kind only, never an address: it is stored and published."""


def claim_order() -> list[tuple[str, int]]:
    """The order due deliveries are claimed in: urgent first, then the longest-waiting."""
    return [("priority_rank", 1), ("next_attempt_at", 1)]


# The outcomes of one attempt, as counted by ``dbt_notifications_deliveries_total``.
SENT = "sent"
RETRYING = "retrying"
FAILED = "failed"
DROPPED = DeliveryStatus.DROPPED  # held past its session's start: never sent


@dataclass(frozen=True)
class Attempt:
    """What one send attempt did to a delivery."""

    delivery: dict[str, Any]
    """The delivery as it now stands."""
    outcome: str
    """``sent``, ``retrying`` (failed, will retry) or ``failed`` (gave up)."""
    error: str | None = None

    @property
    def settled(self) -> bool:
        """Sent or given up: the outcome is final and is announced (an event)."""
        return self.outcome != RETRYING


def record_attempt(
    delivery: dict[str, Any],
    *,
    now: datetime,
    policy: RetryPolicy,
    error: str | None = None,
    permanent: bool = False,
    fallback: bool | None = None,
) -> Attempt:
    """The delivery after one more attempt that ended with ``error`` (``None``: sent).

    A permanent failure gives up at once; any other failure is retried on ``policy`` until it
    gives up. ``fallback`` (once the recipient was known) says whether the site's intake address
    stood in for the intended recipient.
    """
    attempts = delivery["attempts"] + 1
    known = {} if fallback is None else {"fallback_recipient": fallback}
    if error is None:
        sent = {**delivery, "status": DeliveryStatus.SENT, "attempts": attempts, "sent_at": now}
        return Attempt({**sent, **known}, SENT)
    retry_at = None if permanent else policy.next_attempt_at(attempts, now)
    if retry_at is not None:
        retrying = {**delivery, "attempts": attempts, "next_attempt_at": retry_at}
        return Attempt({**retrying, "last_error": error, **known}, RETRYING, error)
    failed = {**delivery, "status": DeliveryStatus.FAILED, "attempts": attempts, "failed_at": now}
    return Attempt({**failed, "last_error": error, **known}, FAILED, error)
