"""Notifications' own metrics: delivery outcomes by purpose and channel (bounded labels)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

DELIVERIES = Counter(
    "dbt_notifications_deliveries_total",
    "Delivery attempts by outcome: sent, retrying (failed, will retry), failed (gave up)",
    ["purpose", "channel", "outcome"],
)
HELD = Counter(
    "dbt_notifications_held_total",
    "Messages held until their channel's window opens (SMS 08:00-21:00, quiet hours)",
    ["purpose", "channel"],
)
REMINDER_LEAD = Histogram(
    "dbt_notifications_reminder_lead_seconds",
    "How long before its session a reminder actually left",
    ["channel"],
    buckets=(0, 600, 1800, 3600, 7200, 3 * 3600, 12 * 3600, 86400, 2 * 86400),
)
RESENT = Counter(
    "dbt_notifications_resent_total",
    "Messages sent again because their worker stopped between the provider call and the outcome",
    ["purpose", "channel"],
)
