"""Notifications' own metrics: delivery outcomes by purpose and channel (bounded labels)."""

from __future__ import annotations

from prometheus_client import Counter

DELIVERIES = Counter(
    "dbt_notifications_deliveries_total",
    "Delivery attempts by outcome: sent, retrying (failed, will retry), failed (gave up)",
    ["purpose", "channel", "outcome"],
)
