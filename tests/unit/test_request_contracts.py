"""What every service's requests may carry, read from the OpenAPI documents the services serve.

Each document is valid OpenAPI 3.1 (``openapi-spec-validator``), and every string, list and map
a request may carry (a body's fields at any depth, query and path parameters) has a maximum the
document states (``maxLength``, ``maxItems``, ``maxProperties``), enforced before anything reads
the value: a body above the limit answers 413 unread, a list above its bound is refused before
its items, a curriculum before the pattern runs over it. Text fields refuse control characters
(a line break in a group's name broke its calendar feed); notes keep line breaks and tabs. And
no problem body repeats what the client sent, however the request went wrong.
"""

from __future__ import annotations

import importlib
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from openapi_spec_validator import OpenAPIV31SpecValidator

from dbt_shared import http_fields
from dbt_shared.web import DEFAULT_MAX_REQUEST_BODY_BYTES
from devstack import SERVICES, module_name

DUMMY_ID = "0190a8f0-0000-7000-8000-000000000000"
# The example of an echo: a name and a phone number typed where a time zone goes.
MARKER = "Alex Rivera +1312 555 0100"
STAFF = ["operator", "coordinator", "therapist", "facilitator"]


def build_app(service: str, clock) -> Flask:
    """The service's app with its routes as deployed, on its in-memory wiring (no database)."""
    package = module_name(service)
    bootstrap = importlib.import_module(f"{package}.bootstrap")
    return importlib.import_module(f"{package}.app").create_app(bootstrap.in_memory(clock))


def document(app: Flask) -> dict[str, Any]:
    answer = app.test_client().get("/openapi.json")
    assert answer.status_code == 200
    return answer.json


def deref(spec: dict, node: Any) -> Any:
    """``node`` with its ``$ref`` (if any) followed."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def request_schemas(spec: dict) -> Iterator[tuple[str, str, dict, dict]]:
    """``(method, path, where, schema)`` for every parameter and JSON body of every operation."""
    for path, item in spec["paths"].items():
        shared = item.get("parameters", [])
        for method, operation in item.items():
            if method == "parameters" or not isinstance(operation, dict):
                continue
            for parameter in [*shared, *operation.get("parameters", [])]:
                parameter = deref(spec, parameter)
                where = f"{parameter['in']}:{parameter['name']}"
                yield method.upper(), path, where, parameter.get("schema", {})
            body = deref(spec, operation.get("requestBody"))
            for content in (body or {}).get("content", {}).values():
                yield method.upper(), path, "body", content.get("schema", {})


def unbounded(spec: dict, node: Any, where: str, seen: frozenset = frozenset()) -> list[str]:
    """Where in ``node`` a string has no ``maxLength``, a list no ``maxItems``, a map no
    ``maxProperties`` (an ``enum`` bounds a string by itself)."""
    node = deref(spec, node)
    if not isinstance(node, dict) or id(node) in seen:
        return []
    seen = seen | {id(node)}
    types = node.get("type") if isinstance(node.get("type"), list) else [node.get("type")]
    found = []
    if "string" in types and "enum" not in node and "maxLength" not in node:
        found.append(f"{where}: a string without maxLength")
    if "array" in types and "maxItems" not in node:
        found.append(f"{where}: an array without maxItems")
    if isinstance(node.get("additionalProperties"), dict) and "maxProperties" not in node:
        found.append(f"{where}: a map without maxProperties")
    for name, member in (node.get("properties") or {}).items():
        found += unbounded(spec, member, f"{where}.{name}", seen)
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            found += unbounded(spec, node[key], f"{where}[]", seen)
    for key in ("allOf", "anyOf", "oneOf"):
        for part in node.get(key) or []:
            found += unbounded(spec, part, where, seen)
    return found


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_the_openapi_document_is_valid_openapi_3_1(service, api_env, clock):
    spec = document(build_app(service, clock))
    errors = [e.message for e in OpenAPIV31SpecValidator(spec).iter_errors()]
    assert not errors, f"{service}: {len(errors)} errors, first: {errors[0]}"


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_string_list_and_map_of_a_request_has_a_stated_bound(service, api_env, clock):
    spec = document(build_app(service, clock))
    schemas = list(request_schemas(spec))
    assert any(where == "body" for *_, where, _schema in schemas), "the walk saw no body"
    missing = [
        problem
        for method, path, where, schema in schemas
        for problem in unbounded(spec, schema, f"{method} {path} {where}")
    ]
    assert not missing, f"{service}:\n" + "\n".join(missing)


def test_the_walk_finds_an_unbounded_string_list_and_map():
    spec = {
        "components": {
            "schemas": {"Item": {"type": "object", "properties": {"n": {"type": "string"}}}}
        }
    }
    body = {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}},
            "labels": {"type": "object", "additionalProperties": {"type": "integer"}},
            "kind": {"type": "string", "enum": ["a", "b"]},
        },
    }
    assert unbounded(spec, body, "body") == [
        "body.items: an array without maxItems",
        "body.items[].n: a string without maxLength",
        "body.labels: a map without maxProperties",
    ]


# -- bodies, lists and regexes are bounded before they are read --------------------------------
@pytest.fixture
def intake(api_env, clock):
    return build_app("intake", clock).test_client()


def test_a_body_above_the_limit_answers_413_as_a_problem_before_it_is_parsed(intake, auth):
    windows = [{"weekday": "tue", "start": "17:00", "end": "21:00"}] * 25_000
    body = json.dumps({"availability": windows})
    assert len(body) > DEFAULT_MAX_REQUEST_BODY_BYTES  # the 1.35 MB admission event of the issue
    answer = intake.post(
        f"/v1/referrals/{DUMMY_ID}/admission",
        data=body,
        content_type="application/json",
        headers=auth(["coordinator"], [DUMMY_ID]),
    )
    assert answer.status_code == 413
    assert answer.content_type == "application/problem+json"
    assert answer.json["title"] == "Content Too Large"
    assert str(DEFAULT_MAX_REQUEST_BODY_BYTES) in answer.json["detail"]


@pytest.mark.parametrize(("windows", "status"), [(25_000, 413), (51, 422)])
def test_a_streamed_body_is_bounded_like_one_of_known_length(intake, auth, windows, status):
    """A chunked body has no Content-Length: above the limit it answers 413 all the same (not a
    400 for JSON cut at the limit); below it, it is read as usual."""
    body = json.dumps(
        {"availability": [{"weekday": "tue", "start": "17:00", "end": "21:00"}] * windows}
    )
    answer = intake.post(
        f"/v1/referrals/{DUMMY_ID}/admission",
        input_stream=io.BytesIO(body.encode()),
        content_type="application/json",
        headers={**auth(["coordinator"], [DUMMY_ID]), "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},  # as gunicorn says of every request
    )
    assert answer.status_code == status, answer.json
    assert answer.content_type == "application/problem+json"


def test_an_admission_with_more_windows_than_a_week_holds_is_refused_by_the_schema(intake, auth):
    windows = [{"weekday": "tue", "start": "17:00", "end": "21:00"}] * 51
    answer = intake.post(
        f"/v1/referrals/{DUMMY_ID}/admission",
        json={"availability": windows},
        headers=auth(["coordinator"], [DUMMY_ID]),
    )
    assert answer.status_code == 422
    assert answer.json["errors"] == [
        {"field": "availability", "location": "json", "message": "More than 50 items."}
    ]


def test_a_huge_curriculum_is_refused_before_the_pattern_runs(intake, auth):
    operator = auth(["operator"], [], "op")
    site = intake.post(
        "/v1/sites",
        json={"name": "Riverside", "timezone": "America/Chicago", "intake_email": "i@r.example"},
        headers=operator,
    ).json["id"]
    # 60 KB of blocks, ending in one the pattern cannot take: it backtracks over the whole
    # text (seconds) when it runs at all.
    curriculum = "M1 " * 20_000 + "X"
    answer = intake.post(
        f"/v1/sites/{site}/programs",
        json={"kind": "adult", "settings": {"curriculum": curriculum}},
        headers=operator,
    )
    assert answer.status_code == 422
    assert answer.json["errors"] == [
        {
            "field": "settings.curriculum",
            "location": "json",
            "message": "Longer than maximum length 200.",
        }
    ]


def test_the_domain_parsers_refuse_a_huge_curriculum_unread():
    from intake.domain import programs
    from skills_group.domain import calendar

    with pytest.raises(ValueError, match="at most 200 characters"):
        programs.parse_curriculum("M1 " * 20_000)
    with pytest.raises(ValueError, match="at most 200 characters"):
        calendar.curriculum_weeks("M1 " * 20_000)


def test_every_pattern_is_bounded_before_it_runs():
    bounded = http_fields.Pattern(r"^(?:[0-9a-f]{2}){1,200}$")
    assert bounded.max == 400  # from the regex itself
    with pytest.raises(ValueError, match="max_length"):
        http_fields.Pattern(r"^(?:a+)+$")  # no bound of its own, none given
    capped = http_fields.Pattern(r"^(?:a+)+$", max_length=50)
    with pytest.raises(Exception, match="does not match"):
        capped("a" * 60_000 + "!")  # refused by its length: the regex would backtrack for ever


# -- control characters ----------------------------------------------------------------------
@pytest.fixture
def skills(api_env, clock):
    from test_skills_services import seeded

    from skills_group.app import create_app

    components = seeded(clock, capacity=8)
    return components, create_app(components).test_client()


@pytest.mark.parametrize("name", ["Tuesday\r\nX-WR-CALNAME:Evil", "Tuesday\nevening", "Tab\there"])
def test_a_group_name_with_a_line_break_or_tab_is_refused_and_nothing_stored(skills, auth, name):
    from test_skills_api import GROUP
    from test_skills_services import SITE

    components, client = skills
    answer = client.post(
        "/v1/groups", json={**GROUP, "name": name}, headers=auth("coordinator", SITE)
    )
    assert answer.status_code == 422
    assert [e["field"] for e in answer.json["errors"]] == ["name"]
    assert "control characters" in answer.json["errors"][0]["message"]
    assert components.repositories.groups.documents == {}


@pytest.mark.parametrize("character", ["\x00", "\x0b", "\x1b", "\x7f", "\x85", "\u2028"])
def test_no_text_field_takes_a_control_character(character):
    refused = http_fields.Text(validate=[])
    with pytest.raises(Exception, match="control characters"):
        refused.deserialize(f"Room{character}2")


def test_a_note_keeps_its_line_breaks_and_tabs_but_no_other_control_character():
    note = http_fields.Note(max_length=2000)
    assert note.deserialize("First line\r\nsecond\tline\n") == "First line\r\nsecond\tline\n"
    with pytest.raises(Exception, match="no other control character"):
        note.deserialize("bell\x07")


# -- no problem body repeats what was sent -------------------------------------------------------
def filled(spec: dict, node: Any, depth: int = 0) -> Any:
    """A value of ``node``'s shape with the marker in every string (and as every map's key)."""
    node = deref(spec, node)
    if not isinstance(node, dict) or depth > 8:
        return MARKER
    for key in ("allOf", "anyOf", "oneOf"):
        if node.get(key):
            return filled(spec, node[key][0], depth + 1)
    kind = node.get("type", "object")
    kind = next((k for k in kind if k != "null"), "string") if isinstance(kind, list) else kind
    if kind == "object":
        value = {name: filled(spec, member, depth + 1) for name, member in
                 (node.get("properties") or {}).items()}  # fmt: skip
        if isinstance(node.get("additionalProperties"), dict):
            value[MARKER] = filled(spec, node["additionalProperties"], depth + 1)
        return value
    if kind == "array":
        return [filled(spec, node.get("items", {}), depth + 1)]
    return {"integer": 1, "number": 1.5, "boolean": True}.get(kind, MARKER)


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_no_error_repeats_a_value_sent_in_any_field_of_any_operation(service, api_env, clock, auth):
    app = build_app(service, clock)
    spec, client = document(app), app.test_client()
    tokens = [auth(STAFF, [DUMMY_ID], "someone"), auth("client", [DUMMY_ID], DUMMY_ID)]
    tried = 0
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            url = path
            query = {}
            for parameter in operation.get("parameters", []):
                parameter = deref(spec, parameter)
                if parameter["in"] == "path":
                    url = url.replace("{" + parameter["name"] + "}", DUMMY_ID)
                elif parameter["in"] == "query":
                    query[parameter["name"]] = MARKER
            body = deref(spec, operation.get("requestBody"))
            schema = ((body or {}).get("content", {}).get("application/json") or {}).get("schema")
            payload = filled(spec, schema) if schema else None
            for headers in tokens:
                answer = client.open(
                    url, method=method.upper(), query_string=query, json=payload, headers=headers
                )
                tried += 1
                if answer.status_code >= 400:
                    text = answer.get_data(as_text=True)
                    assert MARKER not in text, f"{method.upper()} {path}: {text[:500]}"
    assert tried > 10


def test_a_time_zone_that_is_no_zone_is_refused_without_repeating_it(api_env, clock, auth):
    client = build_app("notifications", clock).test_client()
    answer = client.put(
        "/v1/preferences/client-7",
        json={"timezone": MARKER},
        headers=auth("client", [], "client-7"),
    )
    assert answer.status_code == 422
    assert [e["field"] for e in answer.json["errors"]] == ["timezone"]
    assert MARKER not in answer.get_data(as_text=True)


def test_an_iso_week_that_year_lacks_is_refused_without_repeating_it(api_env, clock, auth):
    from test_coaching_api import as_clinician, seed

    from coaching.app import create_app

    client = create_app(seed(clock)).test_client()
    answer = client.get(
        "/v1/clients/client-1/diary-summary?week=2026-W99", headers=as_clinician(auth, "tess")
    )
    assert answer.status_code == 422
    assert [e["field"] for e in answer.json["errors"]] == ["week"]
    assert "2026-W99" not in answer.get_data(as_text=True)


def test_an_unknown_member_is_named_only_when_it_can_be_a_field_name(intake, auth):
    answer = intake.post(
        "/v1/sites",
        json={MARKER: 1, "colour": "red"},
        headers=auth(["operator"], [], "op"),
    )
    assert answer.status_code == 422
    fields = {e["field"] for e in answer.json["errors"]}
    assert "colour" in fields and "<key>" in fields
    assert MARKER not in answer.get_data(as_text=True)
