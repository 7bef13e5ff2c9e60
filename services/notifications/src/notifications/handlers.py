"""The events notifications consumes, and what each one leaves behind.

Every write is keyed on the event (``derived_id``), so a redelivered event changes nothing.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

from pymongo.errors import DuplicateKeyError

from dbt_shared import site_directory
from dbt_shared.contracts import intake
from dbt_shared.events.consumer import Handler, HandlerContext
from dbt_shared.events.envelope import Event
from notifications import store
from notifications.domain import DeliveryStatus

_NAMESPACE = uuid.UUID("4f6c2b1e-9d1a-4c55-8a53-0b7a6f1d2e90")


def derived_id(event: Event, purpose: str) -> str:
    """The id of what ``event`` causes for ``purpose``: the same on every redelivery."""
    return str(uuid.uuid5(_NAMESPACE, f"{event.dedup_key}/{purpose}"))


def _insert_once(collection, document: dict[str, Any]) -> None:
    # A duplicate key means an earlier delivery of the same event already did it.
    with contextlib.suppress(DuplicateKeyError):
        collection.insert_one(document)


def on_referral_received(event: Event, data: dict[str, Any], ctx: HandlerContext) -> None:
    now = ctx.clock.now()
    _insert_once(
        ctx.db[store.INBOX],
        {
            "_id": derived_id(event, "inbox"),
            "site_id": data["site_id"],
            "kind": "referral_received",
            "priority": "normal",
            "referral_id": data["referral_id"],
            "program": data["program"],
            "status": "open",
            "created_at": now,
            "cause_event_id": event.id,
        },
    )
    _insert_once(
        ctx.db[store.DELIVERIES],
        {
            "_id": derived_id(event, "email:site_intake"),
            "site_id": data["site_id"],
            "channel": "email",
            "purpose": "referral_received",
            "recipient_kind": "site_intake",
            "subject_ref": data["referral_id"],
            "status": DeliveryStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "cause_event_id": event.id,
        },
    )


HANDLERS: dict[str, Handler] = {
    **site_directory.HANDLERS,
    intake.REFERRAL_RECEIVED: on_referral_received,
}
