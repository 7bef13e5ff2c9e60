"""The console's calls to Prometheus' and Alertmanager's HTTP APIs, for the ops page: made by the
console's server (the browser never talks to Prometheus), each with the console's timeout, a
page's queries at once on a small pool. Nothing here knows a page; ``domain/ops_panels`` says
what the answers mean.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from console.client import CallCount, RequestsTransport, Transport

PROMETHEUS = "Prometheus"
ALERTMANAGER = "Alertmanager"
#: A screen's queries at once (its panels and the alerts), shared by all pages.
POOL_SIZE = 8


class MonitoringUnavailable(Exception):
    """Prometheus or Alertmanager is not configured, did not answer in time, or answered 5xx."""

    def __init__(self, system: str, configured: bool = True) -> None:
        super().__init__(f"{system} unavailable")
        self.system = system
        self.configured = configured


class QueryRefused(Exception):
    """Prometheus refused a query (4xx: bad PromQL, too many points): its own error text."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class Monitoring:
    def __init__(
        self,
        prometheus_url: str,
        alertmanager_url: str = "",
        transport: Transport | None = None,
        timeout_s: float = 5.0,
    ) -> None:
        self.prometheus_url = prometheus_url.rstrip("/")
        self.alertmanager_url = alertmanager_url.rstrip("/")
        self.transport = transport or RequestsTransport()
        self.timeout_s = timeout_s
        self._pool = ThreadPoolExecutor(max_workers=POOL_SIZE, thread_name_prefix="console-prom")

    @property
    def alerts_source(self) -> str:
        """Alertmanager where one is configured (it knows silences), else Prometheus."""
        return ALERTMANAGER if self.alertmanager_url else PROMETHEUS

    def _get(self, system: str, base: str, path: str, params: dict, count: CallCount | None):
        if not base:
            raise MonitoringUnavailable(system, configured=False)
        started = time.perf_counter()
        try:
            answer = self.transport(
                "GET", base + path, {"Accept": "application/json"}, params, None, self.timeout_s
            )
        except (requests.RequestException, ConnectionError, TimeoutError) as exc:
            raise MonitoringUnavailable(system) from exc
        finally:
            if count is not None:
                count.add(time.perf_counter() - started)
        if answer.status >= 500:
            raise MonitoringUnavailable(system)
        if answer.status >= 400:
            body = answer.body if isinstance(answer.body, dict) else {}
            raise QueryRefused(str(body.get("error") or f"{system} answered {answer.status}"))
        return answer.body

    def query_range(
        self, expr: str, start: int, end: int, step: int, count: CallCount | None = None
    ) -> list[dict[str, Any]]:
        """``GET /api/v1/query_range``: its matrix, ``[{metric: {...}, values: [[t, "v"]...]}]``."""
        body = self._get(
            PROMETHEUS,
            self.prometheus_url,
            "/api/v1/query_range",
            {"query": expr, "start": start, "end": end, "step": step},
            count,
        )
        data = (body or {}).get("data") or {}
        if (body or {}).get("status") != "success" or data.get("resultType") != "matrix":
            raise QueryRefused(str((body or {}).get("error") or "not a range answer"))
        return data.get("result") or []

    def alerts(self, count: CallCount | None = None) -> Any:
        """Alertmanager's ``GET /api/v2/alerts?active=true``, or Prometheus' ``/api/v1/alerts``."""
        if self.alertmanager_url:
            return self._get(
                ALERTMANAGER, self.alertmanager_url, "/api/v2/alerts", {"active": "true"}, count
            )
        return self._get(PROMETHEUS, self.prometheus_url, "/api/v1/alerts", {}, count)

    def gather(self, calls: dict[str, Callable[[], Any]]) -> dict[str, Any]:
        """Run ``calls`` at once; each one's result, or the exception it raised, by name (one
        chart refused or Prometheus down leaves the rest of the page to show)."""
        futures = {name: self._pool.submit(fn) for name, fn in calls.items()}
        results: dict[str, Any] = {}
        for name, future in futures.items():
            try:
                results[name] = future.result()
            except (MonitoringUnavailable, QueryRefused) as exc:
                results[name] = exc
        return results
