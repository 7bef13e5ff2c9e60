"""The lists a delivery is in (``GET /v1/deliveries``): its site's, its site's of its purpose,
and its recipient's, each a bucketed list (``dbt_shared.storage.listing``) of its own."""

from __future__ import annotations

from typing import Any


def site_deliveries(site_id: str) -> str:
    return f"deliveries:site:{site_id}"


def recipient_deliveries(recipient_id: str) -> str:
    return f"deliveries:recipient:{recipient_id}"


def purpose_deliveries(list_key: str, purpose: str) -> str:
    """The sequence of one purpose's deliveries within a site's list: the list ``?purpose=``
    reads, so a rare purpose costs a page, not the site's whole history. (A recipient's list
    holds one person's deliveries, a bucket in about a year: a purpose is filtered within it,
    and the crisis path takes no number more per recipient.)"""
    return f"{list_key}:purpose:{purpose}"


def delivery_lanes(delivery: dict[str, Any]) -> dict[str, str]:
    site = site_deliveries(delivery["site_id"])
    lanes = {
        "site_bucket": site,
        "site_purpose_bucket": purpose_deliveries(site, delivery["purpose"]),
    }
    if delivery.get("recipient_id"):
        lanes["recipient_bucket"] = recipient_deliveries(delivery["recipient_id"])
    return lanes
