"""The events notifications records (contracts in ``dbt_shared.contracts.notifications``) and
the catalog of those it works with (intake's, which it consumes, too)."""

from __future__ import annotations

from typing import Any

from dbt_shared.clock import Clock
from dbt_shared.contracts import coaching, intake, skills
from dbt_shared.contracts import notifications as contract
from dbt_shared.events.catalog import Catalog
from dbt_shared.events.envelope import Event, new_event

SERVICE = "notifications"
# The event types it publishes (validated when recorded and when published) and consumes; their
# topics are created when the worker starts.
CATALOG = Catalog.of(intake, skills, coaching, contract)


def delivery_outcome(
    delivery: dict[str, Any], *, sent: bool, attempts: int, error: str | None, clock: Clock
) -> Event:
    return new_event(
        SERVICE,
        contract.DELIVERY_SENT if sent else contract.DELIVERY_FAILED,
        key=delivery["_id"],
        subject=f"deliveries/{delivery['_id']}",
        data={
            "delivery_id": delivery["_id"],
            "site_id": delivery["site_id"],
            "channel": delivery["channel"],
            "purpose": delivery["purpose"],
            "recipient_kind": delivery["recipient_kind"],
            "cause_event_id": delivery["cause_event_id"],
            "attempts": attempts,
            "at": clock.now().isoformat(),
            "error": error,
        },
        clock=clock,
        catalog=CATALOG,
    )
