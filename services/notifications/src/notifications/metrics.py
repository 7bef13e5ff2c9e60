"""Notifications' own metrics: delivery outcomes by purpose and channel (bounded labels)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

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
PROVIDER_CALLS = Counter(
    "dbt_notifications_provider_calls_total",
    "Calls to a message provider (SMTP relay, SMS gateway) by outcome: ok, error (transient, "
    "retried), rejected (refused for good)",
    ["channel", "outcome"],
)
SAFETY_PENDING_OLDEST = Gauge(
    "dbt_notifications_safety_pending_oldest_seconds",
    "Age of the oldest safety alert (an urgent delivery: a risk flag, a risk raised in coaching, "
    "a crisis page) not delivered yet; 0 when none waits",
    multiprocess_mode="livemostrecent",  # the worker sets it; a restarted one's value counts
)
REMINDER_PLANS = Counter(
    "dbt_notifications_reminder_plans_total",
    "A group's reminders planned from skills-group's calendar, by outcome: planned, "
    "calendar_unreachable",
    ["outcome"],
)
# Every outcome exported from the start at 0, so an alert's increase() sees the first one.
for _channel in ("email", "sms"):
    for _outcome in ("ok", "error", "rejected"):
        PROVIDER_CALLS.labels(_channel, _outcome)
for _outcome in ("planned", "calendar_unreachable"):
    REMINDER_PLANS.labels(_outcome)
