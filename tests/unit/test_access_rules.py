"""Deny by default: every ``/v1`` operation of every service carries an access rule.

The walk (``route_walk``) looks at the routes of each service's Flask app (the ones gunicorn
serves, on the in-memory wiring): every route under ``/v1``, every method but HEAD and OPTIONS,
must have a ``require_roles`` rule, and a caller with no known role is refused all of them, while
the operational routes stay open. A tiny app with one unguarded method shows the walk and the
refusal catch a rule that is missing.

Minimum necessary: each service's app, holding one client's data (the victim's), is walked
route by route with every role that must not see it (another client whose token lists the
victim's site, the staff of another site): no answer shows the victim, and every route that
takes a client id refuses. Service tokens are walked the same way: a route admits only the
calling services its rule names, and those are exactly the calls the services make.
"""

from __future__ import annotations

import importlib
from typing import NamedTuple

import pytest
from flask import Flask
from flask.views import MethodView
from flask_smorest import Blueprint
from route_walk import DUMMY_ID, Operation, build_app, operations

from dbt_shared.auth import access_rule_of, is_signed_request, require_roles
from dbt_shared.web import create_service_app
from devstack import SERVICES, module_name
from support import referral_body

BODIES = ("POST", "PUT", "PATCH")  # an empty one: the refusal comes before validation
OPEN_ROUTES = ("/healthz", "/openapi.json", "/docs", "/metrics")


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


# -- minimum necessary: each role, every route, another client's data ---------------------------
VICTIM = "client-victim"  # the client whose data the callers below must never see
INTRUDER = "client-intruder"
OTHER_SITE = "site-elsewhere"
CLIENT_ID_PARAMS = ("client_id", "recipient_id")
# The only service-to-service calls there are (grep ServiceTokens): notifications reads a site's
# addresses and a person's contact from intake, and a group's sessions from skills-group.
SERVICE_CALLS = {
    ("intake", "GET /v1/sites/<site_id>", "notifications"),
    ("intake", "GET /v1/clients/<client_id>/contact", "notifications"),
    ("intake", "GET /v1/clinicians/<clinician_id>/contact", "notifications"),
    ("skills-group", "GET /v1/groups/<group_id>/sessions", "notifications"),
}
CALLING_SERVICES = (*sorted(SERVICES), "reporting")


class Populated(NamedTuple):
    """A service's app on its in-memory wiring, holding the victim's data at ``site_id``, and
    the ids that fill each path parameter (the victim's for a client id)."""

    app: Flask
    site_id: str
    ids: dict[str, str]


def _skills_group(clock, auth) -> Populated:
    from test_skills_services import COORDINATOR, NOW, SITE, admit, group_body, seeded

    from dbt_shared.clock import FixedClock
    from skills_group import services

    c = seeded(FixedClock(NOW), capacity=8)  # the group's calendar is ahead of this clock
    group = services.create_group(group_body(), c, COORDINATOR)
    admit(c, VICTIM)
    (enrollment,) = c.repositories.client_enrollments(VICTIM)
    ids = {
        "group_id": group["_id"],
        "session_id": enrollment["first_session_id"],
        "enrollment_id": enrollment["_id"],
    }
    return Populated(build_app_from("skills-group", c), SITE, ids)


def _coaching(clock, auth) -> Populated:
    from test_coaching_api import NOW, SITE, seed

    from coaching.services import directory
    from dbt_shared.clock import FixedClock

    c = seed(FixedClock(NOW))
    directory.on_client_admitted(
        {
            "client_id": VICTIM,
            "site_id": SITE,
            "program_id": "prog-a",
            "therapist_id": "tess",
            "admitted_at": "2026-02-01T00:00:00+00:00",
        },
        c,
    )
    app = build_app_from("coaching", c)
    victim = auth("client", [], VICTIM)
    client = app.test_client()
    request = client.post("/v1/coaching-requests", json={"kind": "skills"}, headers=victim)
    assert request.status_code == 201, request.json
    goal = client.post(
        f"/v1/clients/{VICTIM}/goals", json={"title": "Sleep by 23:00"}, headers=victim
    )
    assert goal.status_code == 201, goal.json
    ids = {"request_id": request.json["id"], "goal_id": goal.json["id"], "clinician_id": "tess"}
    return Populated(app, SITE, ids)


def _notifications(clock, auth) -> Populated:
    from notifications import bootstrap

    site = "site-1"
    c = bootstrap.in_memory(clock)
    c.repositories.enrollments.insert(
        {
            "_id": "enr-victim",
            "client_id": VICTIM,
            "group_id": "group-1",
            "site_id": site,
            "status": "active",
            "first_session_starts_at": "2026-03-10T23:00:00+00:00",
        }
    )
    return Populated(build_app_from("notifications", c), site, {})


def _intake(clock, auth) -> Populated:
    from intake import bootstrap

    app = build_app_from("intake", bootstrap.in_memory(clock))
    client = app.test_client()
    site = client.post(
        "/v1/sites",
        json={"name": "Riverside", "timezone": "America/Chicago", "intake_email": "i@r.example"},
        headers=auth(["operator"], [], "op"),
    )
    assert site.status_code == 201, site.json
    site_id = site.json["id"]
    referral = client.post(
        "/v1/referrals",
        json=referral_body(site_id, preferred_channel="sms", language="es"),
        headers=auth("coordinator", site_id),
    )
    assert referral.status_code == 201, referral.json
    # Intake's client id is the referral id: the victim is known by it here.
    return Populated(
        app, site_id, {"referral_id": referral.json["id"], "victim": referral.json["id"]}
    )


POPULATE = {
    "intake": _intake,
    "skills-group": _skills_group,
    "coaching": _coaching,
    "notifications": _notifications,
}


def build_app_from(service: str, components) -> Flask:
    return importlib.import_module(f"{module_name(service)}.app").create_app(components)


def filled(app: Flask, op: Operation, populated: Populated, victim: str) -> str:
    """The operation's url with each path parameter filled: a client id with the victim's."""
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == op.endpoint)
    values = {}
    for name in rule.arguments:
        if name in CLIENT_ID_PARAMS:
            values[name] = victim
        elif name == "site_id":
            values[name] = populated.site_id
        else:
            values[name] = populated.ids.get(name, DUMMY_ID)
    return app.url_map.bind("localhost").build(op.endpoint, values)


def walk(client, populated: Populated, headers: dict, victim: str):
    """Every ``/v1`` operation, as ``headers`` calls it, with the victim's ids and filters:
    yields (operation, url, answer)."""
    app = client.application
    for op in operations(app):
        url = filled(app, op, populated, victim)
        queries = [""]
        if op.method == "GET":  # the filters a list may offer, each on its own
            queries += [f"?{p}={victim}" for p in CLIENT_ID_PARAMS]
            queries += [f"?site_id={populated.site_id}"]
        for query in queries:
            answer = client.open(
                url + query,
                method=op.method,
                headers=headers,
                json={} if op.method in BODIES else None,
            )
            yield op, url + query, answer


def others(auth, site_id: str) -> dict[str, dict]:
    """Each role that must not see the victim: a client whose token lists the victim's site,
    and the staff of another site."""
    return {
        "a client listing the victim's site": auth("client", [site_id], INTRUDER),
        **{
            f"a {role} of another site": auth(role, [OTHER_SITE], f"{role}-elsewhere")
            for role in ("coordinator", "therapist", "facilitator")
        },
    }


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_no_role_reads_another_clients_data_on_any_route(service, api_env, clock, auth):
    populated = POPULATE[service](clock, auth)
    victim = populated.ids.get("victim", VICTIM)
    client = populated.app.test_client()
    leaks, open_doors = [], []
    for who, headers in others(auth, populated.site_id).items():
        for op, url, answer in walk(client, populated, headers, victim):
            if 200 <= answer.status_code < 300 and victim in answer.get_data(as_text=True):
                leaks.append(f"{who}: {op.method} {url} -> {answer.status_code}")
            names_a_client = any(f"<{p}>" in op.route for p in CLIENT_ID_PARAMS)
            if names_a_client and answer.status_code not in (403, 404, 422):
                open_doors.append(f"{who}: {op.method} {url} -> {answer.status_code}")
    assert not leaks, f"{service} showed {victim}'s data to " + "; ".join(leaks)
    assert not open_doors, f"{service} let another caller at a client's route: {open_doors}"


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_the_walk_sees_the_victims_data_where_it_is_theirs(service, api_env, clock, auth):
    """The walk above is not vacuous: a caller allowed to see the victim does see them."""
    populated = POPULATE[service](clock, auth)
    victim = populated.ids.get("victim", VICTIM)
    client = populated.app.test_client()
    allowed = (
        auth(["service"], [], "service:notifications")
        if service == "intake"
        else auth("client", [], VICTIM)
    )
    seen = [
        str(op)
        for op, _url, answer in walk(client, populated, allowed, victim)
        if answer.status_code == 200 and victim in answer.get_data(as_text=True)
    ]
    assert seen, f"{service}: the victim's own data was found on no route"


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_a_service_token_is_admitted_only_where_its_service_is_named(service, api_env, clock, auth):
    populated = POPULATE[service](clock, auth)
    client = populated.app.test_client()
    admitted = set()
    for caller in CALLING_SERVICES:
        token = auth(["service"], [populated.site_id], f"service:{caller}")
        for op in operations(client.application):
            url = filled(client.application, op, populated, populated.ids.get("victim", VICTIM))
            answer = client.open(
                url, method=op.method, headers=token, json={} if op.method in BODIES else None
            )
            if answer.status_code != 403:
                admitted.add((service, str(op), caller))
    expected = {call for call in SERVICE_CALLS if call[0] == service}
    assert admitted == expected


def test_a_service_token_that_names_no_service_is_admitted_nowhere(api_env, clock, auth):
    populated = _intake(clock, auth)
    client = populated.app.test_client()
    nameless = auth(["service"], [], "batch-job")
    contact = client.get(f"/v1/clients/{populated.ids['victim']}/contact", headers=nameless)
    assert contact.status_code == 403
    named = auth(["service"], [], "service:notifications")
    assert (
        client.get(f"/v1/clients/{populated.ids['victim']}/contact", headers=named).status_code
        == 200
    )
