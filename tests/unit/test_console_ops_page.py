"""The console's ops page against a small local HTTP stand-in for Prometheus' and Alertmanager's
APIs (unit tests only): the ``ops`` role alone sees it, its charts come from ``query_range``
asked by the console's server, one query per panel whatever the number of series, the range
picker works as plain links, Prometheus down is said while the rest shows; and the Grafana
dashboard shipped for production is the one the same panel definitions generate."""

from __future__ import annotations

import html
import json
import re
import subprocess
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from console import bootstrap, grafana
from console.app import create_app
from console.domain import ops_alerts, ops_panels
from console.testing import FakeProvider, FakeServices

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy/k8s/components/monitoring/dashboards/dbt-platform.json"
SERVICES = ["coaching", "intake", "notifications", "skills-group"]


class _Server(ThreadingHTTPServer):
    # A screen asks for all its panels at once: the default listen backlog (5) refused some of
    # them on a busy machine, and the panel said Prometheus was unreachable.
    request_queue_size = 64


class StandIn:
    """Prometheus' ``/api/v1/query_range`` and ``/api/v1/alerts`` and Alertmanager's
    ``/api/v2/alerts``, answered from what a test sets; every request recorded."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.series = SERVICES  # each query answers one series per value, labelled with it
        self.refused: dict[str, str] = {}  # a query's metric name -> Prometheus' error text
        self.prometheus_alerts: list[dict] = []
        self.alertmanager_alerts: list[dict] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            # Keep-alive as Prometheus answers: an HTTP/1.0 close after each answer raced the
            # client reusing that pooled connection for the next panel (a panel then said
            # Prometheus was unreachable; seen once in CI on a busy machine).
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                stand_in.requests.append((parts.path, query))
                status, body = stand_in.answer(parts.path, query)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                return None

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, path: str, query: dict[str, str]):
        if path == "/api/v1/query_range":
            for metric, error in self.refused.items():
                if metric in query["query"]:
                    return 400, {"status": "error", "errorType": "bad_data", "error": error}
            start, end, step = (int(query[k]) for k in ("start", "end", "step"))
            label = re.search(r"by \((\w+)", query["query"])
            result = [
                {
                    "metric": {label[1] if label else "service": value},
                    # every step but the last has a sample; the first is NaN (0/0)
                    "values": [
                        [t, "NaN" if t == start else str(n + 1)] for t in range(start, end, step)
                    ],
                }
                for n, value in enumerate(self.series)
            ]
            return 200, {"status": "success", "data": {"resultType": "matrix", "result": result}}
        if path == "/api/v1/alerts":
            return 200, {"status": "success", "data": {"alerts": self.prometheus_alerts}}
        if path == "/api/v2/alerts":
            return 200, self.alertmanager_alerts
        return 404, {"status": "error", "error": "no such path"}

    def queries(self) -> list[dict[str, str]]:
        return [q for p, q in self.requests if p == "/api/v1/query_range"]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def prometheus() -> Iterator[StandIn]:
    stand_in = StandIn()
    yield stand_in
    stand_in.close()


def _closed_port() -> str:
    """An address where nothing listens (a Prometheus that is down)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    server.server_close()
    return url


def signed_in(clock, roles, **settings):
    services = FakeServices(bootstrap.settings_for_tests().service_urls)
    provider = FakeProvider(clock)
    provider.sign_in_as("Oscar", roles, sub="oscar")
    client = create_app(bootstrap.in_memory(clock, provider, services, **settings)).test_client()
    started = client.get("/auth/sign-in")
    state = parse_qs(urlsplit(started.headers["Location"]).query)["state"][0]
    client.get(f"/auth/callback?code=c&state={state}")
    return client


FIRING = {
    "labels": {
        "alertname": "ConsumerLagGrowing",
        "severity": "critical",
        "team": "platform",
        "service": "notifications",
    },
    "annotations": {
        "summary": "notifications is falling behind on dbt.intake.events",
        "runbook_url": "https://runbooks.example.org/operations#consumer-lag",
    },
    "startsAt": "2026-03-03T14:52:10.000Z",
    "status": {"state": "active"},
}


def test_oscar_sees_the_services_screen_drawn_from_prometheus_by_the_consoles_server(
    clock, prometheus
):
    prometheus.alertmanager_alerts = [FIRING]
    client = signed_in(
        clock, ["ops"], prometheus_url=prometheus.url, alertmanager_url=prometheus.url
    )
    assert client.get("/home").headers["Location"] == "/ops"
    answer = client.get("/ops")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200
    # each panel's PromQL, as defined once, with the rate window for the default hour
    end = int(clock.now().timestamp()) // 60 * 60
    asked = prometheus.queries()
    assert sorted(q["query"] for q in asked) == sorted(
        p.expr.replace("$__rate_interval", "120s") for p in ops_panels.SERVICES.panels
    )
    assert {(q["start"], q["end"], q["step"]) for q in asked} == {(str(end - 3600), str(end), "60")}
    for panel in ops_panels.SERVICES.panels:
        assert f'<h2 class="nhsuk-heading-m" id="panel-{panel.key}">{panel.title}</h2>' in page
        block = re.search(
            rf'aria-labelledby="panel-{panel.key}".*?data-chart-data=\'(.*?)\'', page, re.S
        )
        data = json.loads(html.unescape(block[1]))
        assert [s["label"] for s in data["series"]] == SERVICES
        assert data["x"][0] == end - 3600 and data["x"][-1] == end
        # NaN at the start and no sample at the end: gaps, not zeros
        assert data["series"][0]["values"][0] is None and data["series"][0]["values"][-1] is None
    # the table behind the request-rate chart says the same for a screen reader
    assert re.search(r'scope="row">intake</th>\s*<td[^>]*>No data</td>\s*<td[^>]*>2/s</td>', page)
    # the alert firing now, with its runbook link, from Alertmanager
    assert "ConsumerLagGrowing" in page
    assert 'href="https://runbooks.example.org/operations#consumer-lag"' in page
    assert "2026-03-03 14:52 UTC" in page
    # the browser is never sent to Prometheus
    assert prometheus.url not in page and "query_range" not in page


@pytest.mark.parametrize("roles", [["operator"], ["coordinator"], ["therapist"], ["facilitator"]])
def test_the_ops_page_is_denied_to_every_other_role(clock, prometheus, roles):
    client = signed_in(clock, roles, prometheus_url=prometheus.url)
    for path in ("/ops", "/ops/events", "/ops/deliveries?range=6h"):
        assert client.get(path).status_code == 403
    assert prometheus.requests == []  # nothing asked of Prometheus for them
    assert b'href="/ops"' not in client.get("/ops").data  # not in their menu either


def test_prometheus_down_is_said_plainly_and_the_alerts_still_show(clock, prometheus):
    prometheus.alertmanager_alerts = [FIRING]
    client = signed_in(
        clock, ["ops"], prometheus_url=_closed_port(), alertmanager_url=prometheus.url
    )
    answer = client.get("/ops/events")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "Prometheus does not answer" in page
    assert "Prometheus did not answer the console: the charts cannot be drawn now." in page
    assert page.count("No chart: Prometheus did not answer.") == len(ops_panels.EVENTS.panels)
    assert "ConsumerLagGrowing" in page  # the rest of the page is there
    assert 'data-chart="ops"' not in page


def test_without_alertmanager_the_alerts_come_from_prometheus_and_pending_ones_are_not_firing(
    clock, prometheus
):
    prometheus.prometheus_alerts = [
        {**FIRING, "state": "firing", "activeAt": "2026-03-03T14:50:00Z"},
        {
            "labels": {"alertname": "OutboxBacklogNotDraining"},
            "annotations": {},
            "state": "pending",
        },
    ]
    page = signed_in(clock, ["ops"], prometheus_url=prometheus.url).get("/ops").get_data(True)
    assert "ConsumerLagGrowing" in page and "OutboxBacklogNotDraining" not in page
    assert ("/api/v1/alerts", {}) in prometheus.requests


def test_no_prometheus_configured_is_said_and_nothing_is_asked(clock):
    page = signed_in(clock, ["ops"]).get("/ops/deliveries").get_data(as_text=True)
    assert "Prometheus is not configured" in page and "The console has no PROMETHEUS_URL" in page


def test_the_range_picker_is_links_that_work_without_javascript_and_htmx_swaps_the_screen(
    clock, prometheus
):
    client = signed_in(clock, ["ops"], prometheus_url=prometheus.url)
    page = client.get("/ops/events?range=15m").get_data(as_text=True)
    end = int(clock.now().timestamp()) // 15 * 15
    assert {(q["start"], q["end"], q["step"]) for q in prometheus.queries()} == {
        (str(end - 900), str(end), "15")
    }
    assert "[120s]" in " ".join(q["query"] for q in prometheus.queries())
    for key in ("15m", "1h", "6h", "24h"):
        assert f'href="/ops/events?range={key}"' in page
    assert 'href="/ops/events?range=15m" aria-current="page">Last 15 minutes</a>' in page
    # the other screens keep the range picked
    assert 'href="/ops/deliveries?range=15m"' in page
    assert 'hx-boost="true" hx-target="#ops-screen" hx-select="#ops-screen"' in page
    prometheus.requests.clear()
    client.get("/ops/events?range=24h")
    assert {q["step"] for q in prometheus.queries()} == {"1200"}
    assert "[1230s]" in " ".join(q["query"] for q in prometheus.queries())


def test_a_range_not_offered_is_refused_at_the_picker_and_prometheus_is_not_asked(
    clock, prometheus
):
    client = signed_in(clock, ["ops"], prometheus_url=prometheus.url)
    answer = client.get("/ops?range=90d")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert (
        '<a href="#range-picker">Choose a time range from the list: the last 15 minutes,'
        " the last hour" in page
    )
    assert prometheus.requests == []


def test_a_screen_asks_one_query_per_panel_whatever_the_number_of_series(clock, prometheus):
    client = signed_in(clock, ["ops"], prometheus_url=prometheus.url)
    prometheus.series = ["one"]
    few = client.get("/ops/events")
    calls_for_one = len(prometheus.requests)
    prometheus.requests.clear()
    prometheus.series = [f"series-{n}" for n in range(40)]
    many = client.get("/ops/events")
    assert many.get_data(as_text=True).count('scope="row">series-') == 40 * len(
        ops_panels.EVENTS.panels
    )
    assert len(prometheus.requests) == calls_for_one == len(ops_panels.EVENTS.panels) + 1
    assert few.headers["Console-Service-Calls"] == many.headers["Console-Service-Calls"]


def test_a_query_prometheus_refuses_is_named_on_its_panel_and_the_others_are_drawn(
    clock, prometheus
):
    prometheus.refused["dbt_consumer_lag"] = "parse error: unexpected character"
    page = signed_in(clock, ["ops"], prometheus_url=prometheus.url).get("/ops/events")
    text = page.get_data(as_text=True)
    assert "Prometheus refused this chart's query (parse error: unexpected character)" in text
    assert text.count('data-chart="ops"') == len(ops_panels.EVENTS.panels) - 1


def test_the_charts_poll_is_not_the_users_activity(clock, prometheus):
    client = signed_in(clock, ["ops"], prometheus_url=prometheus.url)
    page = client.get("/ops").get_data(as_text=True)
    assert 'id="ops-panels" hx-get="/ops?range=1h" hx-trigger="every 30s"' in page
    for _ in range(4):  # polled for 20 minutes, untouched by the user
        clock.advance(timedelta(minutes=5))
        client.get("/ops?range=1h", headers={"HX-Request": "true", "HX-Trigger": "ops-panels"})
    assert client.get("/ops").status_code == 302  # idle sign-out came all the same


# -- the panels as data -------------------------------------------------------------------------


def test_a_runbook_link_is_http_or_on_this_host_or_the_repository_path_on_the_docs_site():
    annotations = ["javascript:alert(1)", "/runbooks#x", "docs/runbooks.md#workerdown", ""]
    answer = [{**FIRING, "annotations": {"runbook_url": url}} for url in annotations]
    assert [a["runbook"] for a in ops_alerts.alerts_from_alertmanager(answer)] == [
        None,
        "/runbooks#x",
        None,  # no RUNBOOK_BASE_URL: the path is shown as text
        None,
    ]
    docs = "https://docs.example.org/dbt/"
    assert [a["runbook"] for a in ops_alerts.alerts_from_alertmanager(answer, docs)] == [
        None,
        "/runbooks#x",
        "https://docs.example.org/dbt/docs/runbooks.md#workerdown",
        None,
    ]


def test_a_rules_runbook_path_is_linked_on_the_docs_site_the_console_is_given(clock, prometheus):
    prometheus.alertmanager_alerts = [
        {**FIRING, "annotations": {"runbook_url": "docs/runbooks.md#consumerlaggrowing"}}
    ]
    urls = {"prometheus_url": prometheus.url, "alertmanager_url": prometheus.url}
    page = signed_in(clock, ["ops"], **urls).get("/ops").get_data(as_text=True)
    assert "<code>docs/runbooks.md#consumerlaggrowing</code>" in page
    base = "https://git.example.org/dbt/-/blob/main"
    page = signed_in(clock, ["ops"], runbook_base_url=base, **urls).get("/ops").get_data(True)
    assert f'href="{base}/docs/runbooks.md#consumerlaggrowing"' in page


#: Labels with a handful of values each; never a client, referral, person or delivery id.
BOUNDED = {"service", "topic", "outcome", "loop", "channel", "path", "step", "deadline"}


def test_every_panel_keeps_to_bounded_labels():
    for screen in ops_panels.SCREENS:
        for panel in screen.panels:
            grouped = re.findall(r"by \(([^)]*)\)", panel.expr)
            labels = {x.strip() for g in grouped for x in g.split(",")} - {"le"}
            assert labels <= BOUNDED, (panel.key, labels - BOUNDED)


def _exported_metrics() -> set[str]:
    """Every ``dbt_`` metric name the services' code registers (dbt_shared and each service)."""
    sources = [*ROOT.glob("shared/src/**/*.py"), *ROOT.glob("services/*/src/**/*.py")]
    return {m for path in sources for m in re.findall(r'"(dbt_[a-z0-9_]+)"', path.read_text())}


def test_every_panel_charts_metrics_the_services_export():
    exported = _exported_metrics()
    for screen in ops_panels.SCREENS:
        for panel in screen.panels:
            for metric in re.findall(r"\b(dbt_[a-z0-9_]+?)(?:_bucket)?\b", panel.expr):
                assert metric in exported, f"{panel.key}: no service exports {metric}"


def test_every_panels_promql_is_valid_for_prometheus(tmp_path):
    """promtool (built by ``make setup``) parses each query as the console sends it."""
    promtool = ROOT / ".local" / "bin" / "promtool"
    if not promtool.exists():
        pytest.fail(f"{promtool} is missing: run `make setup` (it builds Prometheus' promtool)")
    chosen = ops_panels.RANGES[ops_panels.DEFAULT_RANGE]
    rules = [
        {"record": f"ops:{p.key.replace('-', '_')}", "expr": ops_panels.query(p, chosen)}
        for s in ops_panels.SCREENS
        for p in s.panels
    ]
    path = tmp_path / "panels.yml"
    path.write_text(json.dumps({"groups": [{"name": "ops-panels", "rules": rules}]}))
    checked = subprocess.run(
        [str(promtool), "check", "rules", str(path)], capture_output=True, text=True, timeout=120
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_grafana_dashboard_in_deploy_is_the_one_the_ops_panels_generate():
    assert DASHBOARD.read_text() == grafana.render(), "run `make docs` to regenerate " + str(
        DASHBOARD.relative_to(ROOT)
    )
    shipped = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in shipped["panels"] for t in p.get("targets", [])]
    assert exprs == [p.expr for s in ops_panels.SCREENS for p in s.panels]
