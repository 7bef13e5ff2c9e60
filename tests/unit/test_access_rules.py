"""Deny by default: every ``/v1`` operation of every service carries an access rule.

The walk below looks at the routes of each service's Flask app (the ones gunicorn serves, on the
in-memory wiring): every route under ``/v1``, every method but HEAD and OPTIONS, must have a
``require_roles`` rule, and a caller with no known role is refused all of them, while the
operational routes stay open. A tiny app with
one unguarded method shows the walk and the refusal catch a rule that is missing. The last
tests keep the domain packages free of Flask, Kafka, MongoDB and Marshmallow.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest
from flask import Flask
from flask.views import MethodView
from flask_smorest import Blueprint

from dbt_shared.auth import access_rule_of, is_signed_request, require_roles
from dbt_shared.web import create_service_app
from devstack import SERVICES, module_name

ROOT = Path(__file__).resolve().parents[2]
DUMMY_ID = "0190a8f0-0000-7000-8000-000000000000"
BODIES = ("POST", "PUT", "PATCH")  # an empty one: the refusal comes before validation
OPEN_ROUTES = ("/healthz", "/openapi.json", "/docs", "/metrics")
FORBIDDEN_IN_DOMAIN = frozenset({"flask", "kafka", "pymongo", "flask_smorest", "marshmallow"})


def build_app(service: str, clock) -> Flask:
    """The service's app with its routes as deployed, on its in-memory wiring (no database)."""
    package = module_name(service)
    bootstrap = importlib.import_module(f"{package}.bootstrap")
    return importlib.import_module(f"{package}.app").create_app(bootstrap.in_memory(clock))


class Operation(NamedTuple):
    route: str
    method: str
    endpoint: str
    url: str  # the route with its path parameters filled with an id

    def __str__(self) -> str:
        return f"{self.method} {self.route}"


def operations(app: Flask) -> Iterator[Operation]:
    """Every ``/v1`` operation of ``app``: each route under ``/v1``, each method but HEAD and
    OPTIONS (Flask answers those itself)."""
    adapter = app.url_map.bind("localhost")
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/v1"):
            continue
        url = adapter.build(rule.endpoint, dict.fromkeys(rule.arguments, DUMMY_ID))
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield Operation(rule.rule, method, rule.endpoint, url)


def unguarded(app: Flask) -> list[str]:
    """The ``/v1`` operations whose view has no access rule, as ``METHOD route``."""
    return [
        str(op)
        for op in operations(app)
        if access_rule_of(app.view_functions[op.endpoint], op.method) is None
        # a provider's webhook: the request's signature is its rule (checked by the view)
        and not is_signed_request(app.view_functions[op.endpoint], op.method)
    ]


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_v1_operation_has_an_access_rule(service, api_env, clock):
    app = build_app(service, clock)
    assert list(operations(app)), f"{service} serves no /v1 operation: the walk saw nothing"
    missing = unguarded(app)
    assert not missing, f"{service}: no require_roles rule on {', '.join(missing)}"


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_a_caller_with_no_known_role_is_refused_everything(service, api_env, clock, auth):
    client = build_app(service, clock).test_client()
    roleless = auth([], [DUMMY_ID])
    answers = {
        str(op): client.open(
            op.url, method=op.method, headers=roleless, json={} if op.method in BODIES else None
        ).status_code
        for op in operations(client.application)
    }
    assert answers, f"{service} serves no /v1 operation"
    not_refused = {operation: status for operation, status in answers.items() if status != 403}
    assert not not_refused, f"{service} answered a caller with no role: {not_refused}"


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_operational_routes_answer_without_a_token(service, api_env, clock):
    client = build_app(service, clock).test_client()
    for route in OPEN_ROUTES:
        assert client.get(route).status_code == 200, f"{service} {route}"


def test_the_walk_and_the_refusal_catch_a_view_without_a_rule(api_env, auth):
    blp = Blueprint("things", __name__, url_prefix="/v1/things")

    @blp.route("")
    class Things(MethodView):
        @require_roles("operator")
        def get(self):
            return {"items": []}

        def post(self):  # the rule someone forgot
            return {"id": "made"}, 201

    app = create_service_app("example", title="Example", description="x", blueprints=[blp])
    assert unguarded(app) == ["POST /v1/things"]
    client = app.test_client()
    operator = auth(["operator"])
    assert client.get("/v1/things", headers=operator).status_code == 200
    refused = client.post("/v1/things", headers=operator, json={})
    assert refused.status_code == 403
    assert refused.json["detail"] == "no access rule allows this operation"


def domain_modules() -> dict[str, list[Path]]:
    """Every module of each service's domain (a ``domain/`` package or a ``domain.py``)."""
    found: dict[str, list[Path]] = {}
    for package in sorted(ROOT.glob("services/*/src/*")):
        paths = sorted((package / "domain").rglob("*.py")) + [
            p for p in [package / "domain.py"] if p.is_file()
        ]
        if paths:
            found[package.parents[1].name] = paths
    return found


def forbidden_imports(source: str) -> list[str]:
    """The modules ``source`` imports whose top-level package the domain may not use."""
    names: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
    return [name for name in names if name.split(".")[0] in FORBIDDEN_IN_DOMAIN]


def test_the_import_check_sees_imports_anywhere_in_a_module():
    source = "import os\nfrom flask import g\ndef f():\n    import pymongo.errors\n"
    assert forbidden_imports(source) == ["flask", "pymongo.errors"]


def test_domain_code_imports_no_framework_broker_or_database():
    modules = domain_modules()
    assert set(modules) == set(SERVICES), f"services with a domain: {sorted(modules)}"
    offenders = {
        str(path.relative_to(ROOT)): found
        for paths in modules.values()
        for path in paths
        if (found := forbidden_imports(path.read_text()))
    }
    assert not offenders, f"domain code imports {offenders}"
