"""The walk of a service's routes: its app as deployed (the routes gunicorn serves, on the
in-memory wiring) and every ``/v1`` operation of it. Used by ``test_access_rules`` (each
operation carries an access rule, refuses whom it must) and ``test_routes_doc`` (the operations
and their rules listed in ``docs/routes.md``, which it also regenerates when run as a script)."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import NamedTuple

from flask import Flask

from devstack import module_name

DUMMY_ID = "0190a8f0-0000-7000-8000-000000000000"


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
