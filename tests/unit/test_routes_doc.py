"""``docs/routes.md`` lists every ``/v1`` operation of the four services with the roles its
access rule admits, generated from the apps as deployed (the routes gunicorn serves, on the
in-memory wiring): the test fails when a route, a method or a rule changes and the doc did not.

Regenerate: ``.venv/bin/python tests/unit/test_routes_doc.py > docs/routes.md``.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from route_walk import build_app, operations

from dbt_shared.auth import access_rule_of, is_signed_request
from dbt_shared.clock import FixedClock
from devstack import SERVICES

DOC = Path(__file__).resolve().parents[2] / "docs" / "routes.md"
HEADER = """# Routes

Every `/v1` operation of the four services and who may call it (the roles its access rule
admits; a site role admits its holder at the sites where they hold it, and the view checks the
object's site). Anything not listed is refused: access is denied unless a rule allows it.
Each service also serves `/healthz`, `/readyz`, `/metrics`, `/openapi.json` and `/docs`
(operations, open). The request and answer shapes are in each service's OpenAPI document.

Generated from the apps by `tests/unit/test_routes_doc.py`, which fails when this file and the
code disagree. Regenerate: `.venv/bin/python tests/unit/test_routes_doc.py > docs/routes.md`.
"""


def render(clock) -> str:
    parts = [HEADER]
    for service in sorted(SERVICES):
        app = build_app(service, clock)
        rows = []
        for op in sorted(operations(app), key=lambda o: (o.route, o.method)):
            view = app.view_functions[op.endpoint]
            if is_signed_request(view, op.method):
                who = "the provider's signed request"
            else:
                who = ", ".join(access_rule_of(view, op.method) or ()) or "nobody"
            route = op.route.replace("<", "{").replace(">", "}")
            rows.append(f"| `{op.method}` | `{route}` | {who} |")
        parts.append(f"\n## {service}\n\n| method | path | who |\n| --- | --- | --- |")
        parts.extend(rows)
    return "\n".join(parts) + "\n"


def test_the_routes_doc_says_what_the_apps_serve(api_env, clock):
    assert DOC.exists(), "docs/routes.md is missing: " + __doc__.splitlines()[-1]
    if DOC.read_text() != render(clock):
        pytest.fail(
            "docs/routes.md disagrees with the services' routes or their access rules; "
            "regenerate it: .venv/bin/python tests/unit/test_routes_doc.py > docs/routes.md"
        )


if __name__ == "__main__":
    import os

    from devstack import paths
    from devstack.tokens import ensure_jwt_keys

    ensure_jwt_keys()
    os.environ.update(
        AUTH_PUBLIC_KEY_FILE=str(paths.JWT_PUBLIC_KEY),
        AUTH_SITE_ROLES_FROM="token",
        LOG_LEVEL="WARNING",
        MONGODB_URI="mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=50",
        KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1",
    )
    sys.stdout.write(render(FixedClock(datetime(2026, 3, 3, 15, 0, tzinfo=UTC))))
