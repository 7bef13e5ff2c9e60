"""Prometheus metrics every service exposes, named once here.

One ``dbt_`` prefix, base units, ``_total`` counters, and only bounded labels: service, route
template, method, status, event type, outcome, topic, and (for per-site gauges) the site id,
of which an organisation has a few dozen. Never a client, referral or delivery id.
Under gunicorn (and between a service's api and worker locally) the values live in
``PROMETHEUS_MULTIPROC_DIR`` and are summed at scrape time.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

HTTP_REQUESTS = Counter(
    "dbt_http_requests_total", "HTTP requests answered", ["service", "method", "route", "status"]
)
HTTP_DURATION = Histogram(
    "dbt_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
EVENTS_PUBLISHED = Counter(
    "dbt_events_published_total",
    "Events published to Kafka by the outbox relay",
    ["service", "type"],
)
EVENTS_CONSUMED = Counter(
    "dbt_events_consumed_total",
    "Events taken from Kafka, by outcome (handled, duplicate, skipped_unknown, dead_lettered)",
    ["service", "type", "outcome"],
)
HANDLER_DURATION = Histogram(
    "dbt_event_handler_duration_seconds",
    "Time an event handler took, retries included",
    ["service", "type"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
OUTBOX_BACKLOG = Gauge(
    "dbt_outbox_backlog",
    "Events recorded but not yet published",
    ["service"],
    multiprocess_mode="livemax",
)
DEAD_LETTERED = Counter(
    "dbt_events_dead_lettered_total", "Events sent to a dead-letter topic", ["service", "topic"]
)
OUTBOX_PARKED = Counter(
    "dbt_outbox_parked_total",
    "Events the broker refused for good (too large...), moved to outbox_parked, not published",
    ["service"],
)
OUTBOX_PARKED_NOW = Gauge(
    "dbt_outbox_parked_events",
    "Events waiting in outbox_parked for an operator (counted by the relay each minute)",
    ["service"],
    multiprocess_mode="livemax",
)
CONSUMER_LAG = Gauge(
    "dbt_consumer_lag",
    "Records behind the partition's end, in the partitions this worker holds, after its last poll",
    ["service", "topic"],
    multiprocess_mode="livemostrecent",  # a restarted worker's value, not a killed one's
)
# Refreshed at each scrape of the worker (``dbt_shared.worker``): what its /readyz answers.
WORKER_LOOP_UP = Gauge(
    "dbt_worker_loop_up",
    "1 while a worker loop's last pass succeeded, 0 while it fails (the worker's readiness)",
    ["service", "loop"],
    multiprocess_mode="livemostrecent",  # a restarted worker's value, not a killed one's
)
WORKER_LOOP_RESTARTS = Counter(
    "dbt_worker_loop_restarts_total",
    "Worker loops that failed and were started again (a consumer lane: reconnected)",
    ["service", "loop"],
)
# Refreshed at each scrape of the api (``dbt_shared.web``): its readiness checks. The process
# scraped last tells (under gunicorn any one of them answers a scrape).
DEPENDENCY_UP = Gauge(
    "dbt_dependency_up",
    "1 while the api's readiness check of a dependency (mongodb, kafka) passes, else 0",
    ["service", "dependency"],
    multiprocess_mode="livemostrecent",
)
# Refreshed at each scrape of the worker, as its /readyz answers (``dbt_shared.loop_health``).
WORKER_LOOP_BUSY = Gauge(
    "dbt_worker_loop_busy_seconds",
    "Seconds a worker loop has been in its current pass, 0 while it waits for the next "
    "(past WORKER_STALL_S the loop is stuck and the worker not ready)",
    ["service", "loop"],
    multiprocess_mode="livemostrecent",  # a restarted worker's value, not a killed one's
)


def registry() -> CollectorRegistry:
    """The registry to scrape: the multiprocess view when a metrics dir is configured."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        reg = CollectorRegistry()
        multiprocess.MultiProcessCollector(reg)
        return reg
    from prometheus_client import REGISTRY

    return REGISTRY


def exposition() -> tuple[bytes, str]:
    return generate_latest(registry()), CONTENT_TYPE_LATEST
