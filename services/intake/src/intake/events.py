"""The events intake records (contracts in ``dbt_shared.contracts.intake``)."""

from __future__ import annotations

from typing import Any

from dbt_shared.clock import Clock
from dbt_shared.contracts import intake as contract
from dbt_shared.events.envelope import Event, new_event

SERVICE = "intake"


def site_registered(site: dict[str, Any], clock: Clock) -> Event:
    return new_event(
        SERVICE,
        contract.SITE_REGISTERED,
        key=site["_id"],
        subject=f"sites/{site['_id']}",
        data={
            "site_id": site["_id"],
            "timezone": site["timezone"],
            "registered_at": site["created_at"].isoformat(),
        },
        clock=clock,
    )


def referral_received(referral: dict[str, Any], clock: Clock) -> Event:
    return new_event(
        SERVICE,
        contract.REFERRAL_RECEIVED,
        key=referral["_id"],
        subject=f"referrals/{referral['_id']}",
        data={
            "referral_id": referral["_id"],
            "site_id": referral["site_id"],
            "program": referral["program"],
            "received_at": referral["received_at"].isoformat(),
        },
        clock=clock,
    )
