"""Coaching's own Prometheus metrics (the shared ones, RED per route and the consumer's, come
from ``dbt_shared.metrics``). Labels: codes and site ids, never a client or clinician id."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from coaching.domain.requests import ACK, CALLBACK

REQUESTS = Counter(
    "dbt_coaching_requests_total",
    "Coaching requests, by kind, status at creation and how they were routed",
    ["kind", "status", "route"],
)
RESPONSE_SECONDS = Histogram(
    "dbt_coaching_response_seconds",
    "From a coaching request to its acknowledgement or call-back, by path (crisis, routine)",
    ["step", "path"],
    buckets=(30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400),
)
ESCALATIONS = Counter(
    "dbt_coaching_escalations_total", "Deadlines passed and escalated", ["deadline", "level"]
)
OUTSIDE_HOURS_MINUTES = Counter(
    "dbt_coaching_outside_business_hours_minutes_total",
    "Coaching minutes outside business hours (clinician load), per site",
    ["site_id"],
)
DIARY_CARDS = Counter("dbt_coaching_diary_cards_total", "Diary cards submitted", ["outcome"])
RUPTURES = Counter("dbt_coaching_ruptures_total", "Alliance ruptures flagged", ["site_id"])
REQUESTS_LIMITED = Counter(
    "dbt_coaching_requests_limited_total",
    "Non-crisis coaching requests refused by the per-client limit (429)",
)
CRISIS_REPEATS = Counter(
    "dbt_coaching_crisis_repeats_total",
    "Crisis requests that joined the client's latest one instead of paging again",
)
HOLDS_RELEASED = Counter(
    "dbt_coaching_holds_released_total", "Requests released at the end of the 24-hour rule"
)
DEADLINES_MISSED = Counter(
    "dbt_coaching_deadlines_missed_total",
    "Requests whose acknowledgement or call-back deadline passed unanswered (first escalation), "
    "by path (crisis, routine)",
    ["deadline", "path"],
)
COVERAGE_GAPS_NEXT_24H = Gauge(
    "dbt_coaching_coverage_gaps_next_24h",
    "On-call gaps of a site starting within the next 24 hours or under way (the coverage check)",
    ["site_id"],
    multiprocess_mode="livemostrecent",  # the api (a rota change) and the worker (hourly) set it
)
PATHS = ("crisis", "routine")
# Every deadline and path exported from the start at 0, so an alert's increase() sees the first.
for _deadline in (ACK, CALLBACK):
    for _path in PATHS:
        DEADLINES_MISSED.labels(_deadline, _path)


def path_of(request: dict) -> str:
    return "crisis" if request.get("crisis") else "routine"
