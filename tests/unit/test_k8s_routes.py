"""What the Gateway routes from outside (deploy/k8s/components/gateway), as prod renders it:
every route of every app (the console and the four services, their URL maps as Flask builds
them) is sent through the HTTPRoutes' matching, as a Gateway API implementation matches a
request, and only the console's pages and the two public endpoints (calendar feeds, the SMS
webhook) reach their app. ``/metrics``, ``/docs``, ``/openapi.json`` and the probes do not.
"""

from __future__ import annotations

import importlib
import re
from urllib.parse import urlsplit

import pytest
from test_k8s_console import GATEWAY, INGRESS_NGINX, _overlay, allowed, find, pod_env, pod_of

from console import bootstrap as console_bootstrap
from console.app import create_app as console_app
from console.testing import FakeProvider, FakeServices

SERVICES = {  # Service name -> Python module
    "intake": "intake",
    "skills-group": "skills_group",
    "coaching": "coaching",
    "notifications": "notifications",
}
#: The only (method, rule) of each app reachable from outside, besides the console's pages.
PUBLIC = {
    ("skills-group", "GET", "/calendar/<secret>.ics"),
    ("notifications", "POST", "/v1/sms/inbound"),
}
#: The console's rules that stay inside the cluster (Prometheus and the kubelet).
CONSOLE_INTERNAL = {"/metrics", "/healthz", "/readyz"}


# -- Gateway API matching (HTTPRoute v1, the parts the routes use) -----------------------------


def _path_matches(match: dict, path: str) -> bool:
    kind, value = match.get("type", "PathPrefix"), match.get("value", "/")
    if kind == "Exact":
        return path == value
    if kind == "PathPrefix":  # element-wise: /ops matches /ops and /ops/x, not /opsx
        prefix = value.rstrip("/")
        return path == prefix or path.startswith(prefix + "/") or prefix == ""
    raise AssertionError(f"path match type {kind} not modelled")


def route(docs, host: str, method: str, path: str) -> str | None:
    """The Service a request reaches through the Gateway, or None (the Gateway answers 404).
    Among the matching rules of every HTTPRoute for the host, the most specific wins: an
    exact path over a prefix, a longer prefix over a shorter, a method match over none."""
    candidates = []
    for doc in docs:
        if doc["kind"] != "HTTPRoute" or host not in doc["spec"].get("hostnames", [host]):
            continue
        for rule in doc["spec"]["rules"]:
            for match in rule.get("matches", [{}]):
                assert set(match) <= {"path", "method"}, f"match not modelled: {match}"
                path_match = match.get("path", {})
                if not _path_matches(path_match, path):
                    continue
                if match.get("method", method) != method:
                    continue
                exact = path_match.get("type") == "Exact"
                rank = (exact, len(path_match.get("value", "/")), "method" in match)
                (backend,) = rule["backendRefs"]
                assert backend.get("kind", "Service") == "Service"
                candidates.append((rank, backend["name"]))
    return max(candidates)[1] if candidates else None


def _sample(rule: str) -> str:
    """A concrete path of a Flask rule (each variable a plausible value)."""
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: f"sample-{m[1]}", rule)


def _app_rules(app) -> set[tuple[str, str]]:
    return {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


@pytest.fixture(scope="module")
def prod():
    return _overlay("prod")


@pytest.fixture(scope="module")
def host(prod) -> str:
    return urlsplit(pod_env(prod, "console")["CONSOLE_BASE_URL"]).hostname


@pytest.fixture(scope="module")
def service_rules() -> dict[str, set[tuple[str, str]]]:
    """Each service's routes, from its app as its bootstrap builds it (in memory)."""
    from datetime import UTC, datetime

    from dbt_shared.clock import FixedClock

    patch = pytest.MonkeyPatch()
    patch.setenv("AUTH_PUBLIC_KEY_FILE", __file__)  # never read: no request is made
    patch.setenv("LOG_LEVEL", "ERROR")
    patch.setenv("MONGODB_URI", "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=50")
    patch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    clock = FixedClock(datetime(2026, 3, 3, 15, 0, tzinfo=UTC))
    try:
        rules = {}
        for service, module in SERVICES.items():
            bootstrap = importlib.import_module(f"{module}.bootstrap")
            app = importlib.import_module(f"{module}.app").create_app(bootstrap.in_memory(clock))
            rules[service] = _app_rules(app)
        return rules
    finally:
        patch.undo()


def test_only_the_public_endpoints_of_the_services_are_routed(prod, host, service_rules):
    exposed = {
        (service, method, rule)
        for service, rules in service_rules.items()
        for method, rule in rules
        if route(prod, host, method, _sample(rule)) == service
    }
    assert exposed == PUBLIC
    # The rules named exist (a renamed endpoint fails here, not in production).
    for service, method, rule in PUBLIC:
        assert (method, rule) in service_rules[service]


def test_metrics_docs_openapi_and_probes_are_not_reachable_from_outside(prod, host):
    for path in ("/metrics", "/docs", "/docs/assets/x.js", "/openapi.json", "/healthz", "/readyz"):
        for method in ("GET", "POST"):
            assert route(prod, host, method, path) is None, (method, path)
    # nor under another host the Gateway serves
    assert route(prod, "other.example.com", "GET", "/calendar/x.ics") is None


def test_every_console_page_is_routed_to_the_console(prod, host, clock):
    services = FakeServices(console_bootstrap.settings_for_tests().service_urls)
    app = console_app(console_bootstrap.in_memory(clock, FakeProvider(clock), services))
    for method, rule in _app_rules(app):
        reached = route(prod, host, method, _sample(rule))
        if rule in CONSOLE_INTERNAL:
            assert reached is None, rule
        else:
            assert reached == "console", (method, rule)


def test_the_gateway_reaches_the_public_endpoints_apis_only(prod):
    for service in ("skills-group", "notifications"):
        assert allowed(prod, GATEWAY, pod_of(prod, f"{service}-api"), 8000), service
        assert not allowed(prod, GATEWAY, pod_of(prod, f"{service}-worker"), 9100), service
    for service in ("intake", "coaching"):
        assert not allowed(prod, GATEWAY, pod_of(prod, f"{service}-api"), 8000), service
    assert allowed(prod, INGRESS_NGINX, pod_of(prod, "intake-api"), 8000)  # kept as it was


def test_each_route_goes_to_a_service_of_the_manifests_on_its_http_port(prod):
    for doc in prod:
        if doc["kind"] != "HTTPRoute":
            continue
        for rule in doc["spec"]["rules"]:
            for backend in rule["backendRefs"]:
                service = find(prod, "Service", backend["name"])
                (port,) = [p for p in service["spec"]["ports"] if p["port"] == backend["port"]]
                assert port["targetPort"] == "http"
                assert service["spec"]["selector"]["app.kubernetes.io/component"] in (
                    "api",
                    "web",
                )
