"""``GET /v1/audit`` is one view (``dbt_shared.audit.blueprint``) in coaching, skills-group and
notifications: operators only, the filters served, and the records the service's own use cases
wrote, each service's own trail."""

from __future__ import annotations

import importlib

import pytest

from dbt_shared.auth import Principal

SERVICES = ["coaching", "skills_group", "notifications"]


@pytest.fixture(params=SERVICES)
def service(request, api_env, clock):
    bootstrap = importlib.import_module(f"{request.param}.bootstrap")
    app = importlib.import_module(f"{request.param}.app")
    components = bootstrap.in_memory(clock)
    return components, app.create_app(components).test_client()


def test_the_trail_is_for_operators_and_shows_what_the_service_recorded(service, auth):
    components, client = service
    reader = Principal("coord", frozenset({"coordinator"}), frozenset({"site-1"}))
    components.repositories.audit.record(
        reader, action="thing.read", object_type="thing", object_id="t-1", site_id="site-1"
    )

    refused = client.get("/v1/audit", headers=auth(["coordinator"], ["site-1"], "coord"))
    answer = client.get("/v1/audit?site_id=site-1", headers=auth(["operator"], [], "op"))

    assert refused.status_code == 403
    assert answer.status_code == 200
    assert [(r["actor"], r["action"], r["object_id"]) for r in answer.json["items"]] == [
        ("coord", "thing.read", "t-1")
    ]


def test_the_trail_filters_by_type_only_with_an_object(service, auth):
    _components, client = service
    operator = auth(["operator"], [], "op")

    refused = client.get("/v1/audit?object_type=thing", headers=operator)
    narrowed = client.get("/v1/audit?object_id=t-1&object_type=thing", headers=operator)

    assert refused.status_code == 422
    assert [e["field"] for e in refused.json["errors"]] == ["object_type"]
    assert narrowed.status_code == 200 and narrowed.json["items"] == []
