"""What an intake event leaves behind: an inbox item for the site and a pending delivery.

Both are keyed on the event (``derived_id``, ``ordered_id``), so a redelivered event names the
same records and storing them again changes nothing. Ids only: the client's details stay in intake.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Protocol

from notifications.domain.deliveries import DeliveryStatus
from notifications.domain.purposes import Priority, Purpose, priority_rank
from notifications.domain.recipients import RecipientKind

_NAMESPACE = uuid.UUID("4f6c2b1e-9d1a-4c55-8a53-0b7a6f1d2e90")

Notice = tuple[dict[str, Any], dict[str, Any]]
"""An inbox item and a pending delivery."""


class Cause(Protocol):
    """The event that causes a notice (an envelope ``Event``)."""

    @property
    def id(self) -> str: ...

    @property
    def dedup_key(self) -> str: ...

    @property
    def correlation_id(self) -> str | None: ...


def derived_id(event: Cause, purpose: str) -> str:
    """The id of what ``event`` causes for ``purpose``: the same on every redelivery."""
    return str(uuid.uuid5(_NAMESPACE, f"{event.dedup_key}/{purpose}"))


def ordered_id(event: Cause, purpose: str) -> str:
    """``derived_id`` led by the event id's time and sequence (the first 64 bits of a UUIDv7):
    the same on every redelivery, and in the order the events happened (the inbox's order)."""
    return event.id[:19] + derived_id(event, purpose)[19:]


def _inbox_item(
    event: Cause, *, site_id: str, kind: str, priority: str, now: datetime, **details: Any
) -> dict[str, Any]:
    return {
        "_id": ordered_id(event, "inbox"),
        "site_id": site_id,
        "kind": kind,
        "priority": priority,
        "priority_rank": priority_rank(priority),
        **details,
        "status": "open",
        "created_at": now,
        "cause_event_id": event.id,
    }


def _pending_email(
    event: Cause,
    *,
    site_id: str,
    purpose: str,
    recipient_kind: str,
    subject_ref: str,
    priority: str,
    now: datetime,
) -> dict[str, Any]:
    """A delivery due now; its address is asked of intake only when it is sent."""
    return {
        "_id": derived_id(event, f"email:{recipient_kind}"),
        "site_id": site_id,
        "channel": "email",
        "purpose": purpose,
        "recipient_kind": recipient_kind,
        "subject_ref": subject_ref,
        "priority": priority,
        "priority_rank": priority_rank(priority),
        "status": DeliveryStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "cause_event_id": event.id,
        # The chain that caused it, so the send, the call to intake and the outcome event
        # can be traced back to the request that started it.
        "correlation_id": event.correlation_id,
    }


def referral_notice(event: Cause, data: dict[str, Any], now: datetime) -> Notice:
    """A new referral: a normal inbox item and an email to the site's intake address."""
    item = _inbox_item(
        event,
        site_id=data["site_id"],
        kind="referral_received",
        priority=Priority.NORMAL,
        now=now,
        referral_id=data["referral_id"],
        program=data["program"],
    )
    email = _pending_email(
        event,
        site_id=data["site_id"],
        purpose=Purpose.REFERRAL_RECEIVED,
        recipient_kind=RecipientKind.SITE_INTAKE,
        subject_ref=data["referral_id"],
        priority=Priority.NORMAL,
        now=now,
    )
    return item, email


def risk_alert(event: Cause, data: dict[str, Any], now: datetime) -> Notice:
    """High risk at screening: an urgent inbox item and an email to the site's clinical lead.

    The email is due at once and no quiet hour holds it (``quiet_hours.may_send_now``). Ids
    only: the screening itself stays in intake.
    """
    item = _inbox_item(
        event,
        site_id=data["site_id"],
        kind="risk_flagged",
        priority=Priority.URGENT,
        now=now,
        referral_id=data["referral_id"],
        screening_id=data["screening_id"],
    )
    email = _pending_email(
        event,
        site_id=data["site_id"],
        purpose=Purpose.RISK_FLAGGED,
        recipient_kind=RecipientKind.SITE_CLINICAL_LEAD,
        subject_ref=data["referral_id"],
        priority=Priority.URGENT,
        now=now,
    )
    return item, email
