"""The ops page's panels, defined once: the console draws them from Prometheus' HTTP API and
``console.grafana`` writes the same definitions as the Grafana dashboard shipped for production
(``deploy/k8s/components/monitoring/dashboards/dbt-platform.json``, ``make docs``), so the two
never drift. Platform health only: every metric here has bounded labels (service, topic,
channel, outcome, step...), never a client, referral or person id.

A panel's PromQL is written as Grafana reads it: ``$__rate_interval`` is the rate window, which
Grafana works out itself and the console puts in from the chosen range (``rate_window``).
Also here: the time ranges the page offers, and what Prometheus' answers become (a chart's
aligned series and the table behind it); the alerts firing now are ``ops_alerts``'. Plain
code: no framework import.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class Panel:
    key: str  # the chart's id on the page and its refId in Grafana
    title: str
    description: str
    expr: str  # PromQL, with Grafana's $__rate_interval for the rate window
    unit: str  # Grafana's unit id (see UNITS)
    legend: str  # Grafana's legend format: {{label}} for a label's value


@dataclass(frozen=True)
class Screen:
    """One task of the ops team, one screen of the page, one row of the dashboard."""

    key: str
    title: str
    intro: str
    panels: tuple[Panel, ...]


#: Grafana's unit ids used here, as the page says them: (axis label, format of one value).
UNITS: dict[str, tuple[str, str]] = {
    "reqps": ("requests per second", "{:.3g}/s"),
    "percentunit": ("share of requests", "{:.2%}"),
    "s": ("seconds", "{:.3g} s"),
    "opm": ("per minute", "{:.3g}/min"),
    "short": ("count", "{:.4g}"),
}

SERVICES = Screen(
    "services",
    "Services",
    "Each api's requests, errors and latency (RED), per service, and the workers' restarts.",
    (
        Panel(
            "request-rate",
            "Request rate",
            "HTTP requests answered per second, per service.",
            "sum by (service) (rate(dbt_http_requests_total[$__rate_interval]))",
            "reqps",
            "{{service}}",
        ),
        Panel(
            "error-ratio",
            "Errors (5xx)",
            "Share of requests answered with a 5xx status, per service.",
            # a service without a 5xx has no such series: 0 for it, not a gap
            '(sum by (service) (rate(dbt_http_requests_total{status=~"5.."}[$__rate_interval]))'
            " or 0 * sum by (service) (rate(dbt_http_requests_total[$__rate_interval])))"
            " / sum by (service) (rate(dbt_http_requests_total[$__rate_interval]))",
            "percentunit",
            "{{service}}",
        ),
        Panel(
            "latency-p95",
            "Latency p95",
            "95th percentile of the time to answer a request, per service.",
            "histogram_quantile(0.95, sum by (service, le)"
            " (rate(dbt_http_request_duration_seconds_bucket[$__rate_interval])))",
            "s",
            "{{service}}",
        ),
        Panel(
            "worker-restarts",
            "Worker loop restarts",
            "Worker loops (outbox relay, consumer lanes, timers) that failed and were started"
            " again, per service and window (the alert names the loop).",
            # a loop never restarted has no counter yet: 0 for each worker reporting loops
            "sum by (service) (increase(dbt_worker_loop_restarts_total[$__rate_interval]))"
            " or 0 * sum by (service) (dbt_worker_loop_up)",
            "short",
            "{{service}}",
        ),
        Panel(
            "worker-busy",
            "Longest worker loop pass",
            "How long a service's busiest worker loop has been in its current pass (0 while all"
            " wait); over WORKER_STALL_S the worker is not ready. Alert: over 5 minutes.",
            "max by (service) (dbt_worker_loop_busy_seconds)",
            "s",
            "{{service}}",
        ),
    ),
)

#: An event type's topic, as the catalog has it (``intake.referral.received.v1`` is published on
#: ``dbt.intake.events``): the event counters carry the type, the page shows topics.
_TOPIC = '"topic", "dbt.$1.events", "type", "([^.]+)[.].*"'

EVENTS = Screen(
    "events",
    "Events",
    "The event backbone: what is published and consumed on each topic, what waits, what failed.",
    (
        Panel(
            "events-published",
            "Events published",
            "Events the outbox relays published per minute, per topic.",
            "60 * sum by (topic) (label_replace(rate(dbt_events_published_total"
            f"[$__rate_interval]), {_TOPIC}))",
            "opm",
            "{{topic}}",
        ),
        Panel(
            "events-consumed",
            "Events consumed",
            "Events taken from each topic per minute, by consuming service and outcome"
            " (handled, duplicate, skipped_unknown, dead_lettered).",
            "60 * sum by (service, topic, outcome) (label_replace(rate(dbt_events_consumed_total"
            f"[$__rate_interval]), {_TOPIC}))",
            "opm",
            "{{service}} from {{topic}}: {{outcome}}",
        ),
        Panel(
            "handler-p95",
            "Event handling time p95",
            "95th percentile of the time a consuming service's handler took for an event, retries"
            " included.",
            "histogram_quantile(0.95, sum by (service, le)"
            " (rate(dbt_event_handler_duration_seconds_bucket[$__rate_interval])))",
            "s",
            "{{service}}",
        ),
        Panel(
            "consumer-lag",
            "Consumer lag",
            "Events on a topic that a service's workers have not read yet (at their last poll).",
            "sum by (service, topic) (dbt_consumer_lag)",
            "short",
            "{{service}} on {{topic}}",
        ),
        Panel(
            "outbox-backlog",
            "Outbox backlog",
            "Events recorded in a service's outbox and not yet published.",
            "max by (service) (dbt_outbox_backlog)",
            "short",
            "{{service}}",
        ),
        Panel(
            "dead-lettered",
            "Dead-lettered events",
            "Events a consumer gave up on and sent to a dead-letter topic, per window.",
            "sum by (service, topic) (increase(dbt_events_dead_lettered_total[$__rate_interval]))",
            "short",
            "{{service}} to {{topic}}",
        ),
        Panel(
            "parked",
            "Parked events",
            "Events the broker refused for good, waiting in outbox_parked for an operator.",
            "max by (service) (dbt_outbox_parked_events)",
            "short",
            "{{service}}",
        ),
    ),
)

#: Coaching's response times are rare events: a p95 over the hour before each point.
_RESPONSE = (
    "histogram_quantile(0.95, sum by (path, le)"
    ' (rate(dbt_coaching_response_seconds_bucket{{step="{step}"}}[1h])))'
)

DELIVERIES = Screen(
    "deliveries",
    "Deliveries and response times",
    "Messages by channel and outcome, the providers, and how fast clinicians answer crisis and"
    " coaching requests.",
    (
        Panel(
            "deliveries",
            "Deliveries",
            "Delivery attempts per minute, by channel and outcome"
            " (sent, retrying, failed, dropped).",
            "60 * sum by (channel, outcome)"
            " (rate(dbt_notifications_deliveries_total[$__rate_interval]))",
            "opm",
            "{{channel}} {{outcome}}",
        ),
        Panel(
            "safety-pending",
            "Oldest safety alert not delivered",
            "Age of the oldest undelivered safety alert (risk flag, coaching risk, crisis page);"
            " 0 when none waits. Alert: over 5 minutes.",
            "max(dbt_notifications_safety_pending_oldest_seconds)",
            "s",
            "waiting",
        ),
        Panel(
            "provider-calls",
            "Provider calls",
            "Calls to the SMS and email providers per minute, by channel and outcome"
            " (ok, error, rejected).",
            "60 * sum by (channel, outcome)"
            " (rate(dbt_notifications_provider_calls_total[$__rate_interval]))",
            "opm",
            "{{channel}} {{outcome}}",
        ),
        Panel(
            "held",
            "Messages held",
            "Messages held per minute until their channel's window opens, by channel.",
            "60 * sum by (channel) (rate(dbt_notifications_held_total[$__rate_interval]))",
            "opm",
            "{{channel}}",
        ),
        Panel(
            "acknowledgement-p95",
            "Acknowledgement time p95",
            "95th percentile, over the hour before each point, of the time from a request to"
            " its acknowledgement: crisis and routine coaching.",
            _RESPONSE.format(step="acknowledged"),
            "s",
            "{{path}}",
        ),
        Panel(
            "callback-p95",
            "Call-back time p95",
            "95th percentile, over the hour before each point, of the time from a request to"
            " the clinician's call-back: crisis and routine coaching.",
            _RESPONSE.format(step="called_back"),
            "s",
            "{{path}}",
        ),
        Panel(
            "deadlines-missed",
            "Coaching deadlines missed",
            "Acknowledgement and call-back deadlines passed and escalated, per window, crisis and"
            " routine.",
            "sum by (deadline, path)"
            " (increase(dbt_coaching_deadlines_missed_total[$__rate_interval]))",
            "short",
            "{{deadline}} {{path}}",
        ),
    ),
)

SCREENS: tuple[Screen, ...] = (SERVICES, EVENTS, DELIVERIES)
SCREENS_BY_KEY = {s.key: s for s in SCREENS}


@dataclass(frozen=True)
class Range:
    key: str
    label: str
    seconds: int
    step_s: int  # about 60 points a chart


RANGES: dict[str, Range] = {
    r.key: r
    for r in (
        Range("15m", "15 minutes", 15 * 60, 15),
        Range("1h", "hour", 3600, 60),
        Range("6h", "6 hours", 6 * 3600, 300),
        Range("24h", "24 hours", 24 * 3600, 1200),
    )
}
DEFAULT_RANGE = "1h"

#: Production's scrape interval (the ServiceMonitors' 30s; locally 5s): a rate needs at least
#: two samples in its window, so the window is never under four scrapes (Grafana's own rule).
SCRAPE_INTERVAL_S = 30


def rate_window(step_s: int) -> str:
    """Grafana's ``$__rate_interval`` for a step: max(step + scrape, 4 x scrape)."""
    return f"{max(step_s + SCRAPE_INTERVAL_S, 4 * SCRAPE_INTERVAL_S)}s"


def query(panel: Panel, chosen: Range) -> str:
    return panel.expr.replace("$__rate_interval", rate_window(chosen.step_s))


def window(chosen: Range, now: datetime) -> tuple[int, int]:
    """(start, end) in Unix seconds, the end on a whole step: each refresh draws the same grid."""
    end = int(now.timestamp()) // chosen.step_s * chosen.step_s
    return end - chosen.seconds, end


_LABEL = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def legend(panel: Panel, labels: dict[str, str]) -> str:
    """A series' name as Grafana's legend format gives it (an absent label reads as nothing)."""
    text = " ".join(_LABEL.sub(lambda m: labels.get(m[1], ""), panel.legend).split())
    return text or panel.title


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "No data"
    return UNITS.get(unit, UNITS["short"])[1].format(value)


def _number(text: Any) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None  # NaN (no requests: 0/0), +Inf


def chart(panel: Panel, matrix: list[dict[str, Any]], start: int, end: int, step: int) -> dict:
    """Prometheus' ``query_range`` matrix as the page draws it: one x axis (every step from
    start to end), each series' values on it (None where it has no sample) for uPlot, and the
    table behind the chart, one row a series: now, average, highest and when."""
    xs = list(range(start, end + 1, step))
    index = {x: n for n, x in enumerate(xs)}
    series, rows = [], []
    for result in matrix:
        values: list[float | None] = [None] * len(xs)
        for at, text in result.get("values") or []:
            n = index.get(int(float(at)))
            if n is not None:
                values[n] = _number(text)
        name = legend(panel, result.get("metric") or {})
        series.append({"label": name, "values": values})
        known = [(v, x) for v, x in zip(values, xs, strict=True) if v is not None]
        peak = max(known, default=None, key=lambda p: p[0])
        rows.append(
            {
                "label": name,
                "now": format_value(values[-1] if values else None, panel.unit),
                "mean": format_value(
                    sum(v for v, _ in known) / len(known) if known else None, panel.unit
                ),
                "peak": format_value(peak[0] if peak else None, panel.unit),
                "peak_at": _clock(peak[1]) if peak else "",
            }
        )
    order = sorted(range(len(series)), key=lambda n: series[n]["label"].casefold())
    return {
        "data": {
            "x": xs,
            "series": [series[n] for n in order],
            "unit": panel.unit,
            "axis": UNITS.get(panel.unit, UNITS["short"])[0],
        },
        "rows": [rows[n] for n in order],
        "any": any(v is not None for s in series for v in s["values"]),
    }


def _clock(at: int) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%a %H:%M")  # the table says UTC
