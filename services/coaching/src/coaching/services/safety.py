"""Self-harm records: a clinician's, or a diary card's self-harm acted on. Where the program
keeps the 24-hour rule, non-crisis coaching requests are held for 24 hours from then."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from coaching.bootstrap import Components
from coaching.services.common import audit, client_for, safety_of, with_safety
from dbt_shared.auth import Principal
from dbt_shared.errors import Forbidden, InvalidInput, StaleWrite

HOLD = timedelta(hours=24)


def record_self_harm(client_id: str, body: dict[str, Any], c: Components, principal: Principal):
    """A clinician records self-harm (the 24-hour rule's clock starts at ``occurred_at``)."""
    client = client_for(c, client_id, principal, coordinators=True)
    if principal.has_role("client"):
        raise Forbidden("Self-harm is recorded by a clinician (or through a diary card).")
    occurred = body["occurred_at"]
    if occurred > c.clock.now() + timedelta(minutes=5):
        raise InvalidInput.field("occurred_at", "Must not be in the future.")
    mark_self_harm(c, client, occurred)
    audit(c, principal, "client.self_harm_record", "client", client_id, client["site_id"])
    return {"client_id": client_id, "self_harm_at": occurred, "rule_until": occurred + HOLD}


def mark_self_harm(c: Components, client: dict[str, Any], at: datetime) -> None:
    for _ in range(5):
        current = c.repositories.client(client["_id"]) or client
        latest = safety_of(c, current)["self_harm_at"]
        if latest is not None and latest >= at:
            return
        try:
            c.repositories.clients.save(with_safety(c, current, self_harm_at=at))
            return
        except StaleWrite:
            continue
