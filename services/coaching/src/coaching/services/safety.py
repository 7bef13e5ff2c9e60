"""Self-harm records: a clinician's, or a diary card's self-harm acted on. Where the program
keeps the 24-hour rule, non-crisis coaching requests are held for 24 hours from then.

A safety write lands or the request fails loudly (503, nothing written): a self-harm mark that
was lost while the api answered 200 would let a request through that the rule should hold."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from coaching.bootstrap import Components
from coaching.domain.requests import HOLD
from coaching.services.common import audit, change_safety, client_for
from dbt_shared.auth import Principal
from dbt_shared.errors import Forbidden, InvalidInput


def record_self_harm(client_id: str, body: dict[str, Any], c: Components, principal: Principal):
    """A clinician records self-harm (the 24-hour rule's clock starts at ``occurred_at``)."""
    client = client_for(c, client_id, principal, coordinators=True)
    if principal.has_role("client"):
        raise Forbidden("Self-harm is recorded by a clinician (or through a diary card).")
    occurred = body["occurred_at"]
    if occurred > c.clock.now() + timedelta(minutes=5):
        raise InvalidInput.field("occurred_at", "Must not be in the future.")
    # The audit record first: a crash between the two leaves an audited attempt, never a write
    # of health data without its audit record.
    audit(c, principal, "client.self_harm_record", "client", client_id, client["site_id"])
    mark_self_harm(c, client, occurred)
    return {"client_id": client_id, "self_harm_at": occurred, "rule_until": occurred + HOLD}


def mark_self_harm(c: Components, client: dict[str, Any], at: datetime) -> None:
    """Record self-harm at ``at`` (a later record stands: the rule runs from the latest)."""

    def change(state: dict[str, Any]) -> dict[str, Any] | None:
        latest = state["self_harm_at"]
        return None if latest is not None and latest >= at else {"self_harm_at": at}

    change_safety(c, client, change)
