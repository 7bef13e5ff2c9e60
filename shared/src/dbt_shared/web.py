"""App defaults: what every service's api gets from one call to ``create_service_app``.

Config from the environment, JSON logs with correlation ids, RFC 9457 problem bodies, bearer-token
auth on ``/v1``, request metrics, ``/healthz``, ``/readyz``, ``/metrics``, and the OpenAPI document
at ``/openapi.json`` with Swagger UI at ``/docs``, its files served by the service itself
(``dbt_shared.openapi``).

Every request is bounded before it is read: a body above ``MAX_REQUEST_BODY_BYTES`` answers 413,
a path segment above ``PATH_SEGMENT_MAX`` characters matches no route (404), and the fields of
every request schema carry their own bounds (``dbt_shared.http_fields``).
"""

from __future__ import annotations

import atexit
import io
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import flask_smorest
from flask import Flask, Response, current_app, g, jsonify, request
from marshmallow import Schema, fields
from pymongo.database import Database
from pymongo.errors import ConnectionFailure
from webargs.flaskparser import FlaskParser
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import UnicodeConverter

from dbt_shared import correlation, logs, metrics
from dbt_shared.auth import enforce_access_rule, is_signed_request
from dbt_shared.clock import Clock, SystemClock
from dbt_shared.config import Settings, env_int
from dbt_shared.errors import DomainError
from dbt_shared.events.catalog import Catalog
from dbt_shared.events.publisher import EventPublisher
from dbt_shared.kafka_probe import KafkaProbe
from dbt_shared.openapi import create_api, document_config
from dbt_shared.problems import PROBLEM_TYPE_BASE, Problem, title_for
from dbt_shared.staff_directory import COLLECTION as STAFF_DIRECTORY
from dbt_shared.staff_directory import StaffDirectory
from dbt_shared.storage import mongo
from dbt_shared.storage.context import Storage
from dbt_shared.tokens import TokenVerifier, authenticate

log = logging.getLogger(__name__)


class _OneSchemaEach(FlaskParser):
    """webargs makes a new instance of an arguments schema for every request (and of each schema
    nested in it): one instance per schema class instead, since marshmallow's load keeps no state
    on the instance."""

    def __init__(self) -> None:
        super().__init__()
        self._schemas: dict[type, Schema] = {}

    def _get_schema(self, argmap, req):
        if isinstance(argmap, type) and issubclass(argmap, Schema):
            if argmap not in self._schemas:
                self._schemas[argmap] = argmap()
            return self._schemas[argmap]
        return super()._get_schema(argmap, req)


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's blueprint, parsing arguments with one schema instance per class."""

    ARGUMENTS_PARSER = _OneSchemaEach()


REQUEST_ID_HEADER = correlation.REQUEST_ID_HEADER

#: The largest request body a service reads, unless ``MAX_REQUEST_BODY_BYTES`` says otherwise:
#: the largest body any operation needs (a site's rota, 400 shifts) is under 64 KiB.
DEFAULT_MAX_REQUEST_BODY_BYTES = 256 * 1024

#: The longest path segment (``<site_id>``) a route matches: every id given out is at most 200
#: characters (``http_fields.ID_PATTERN``), a calendar feed's token far less.
PATH_SEGMENT_MAX = 200


class _BoundedSegment(UnicodeConverter):
    """Flask's default path converter with a maximum length (which the document shows)."""

    def __init__(self, map, minlength: int = 1, maxlength: int | None = None, length=None):
        super().__init__(map, minlength, maxlength or PATH_SEGMENT_MAX, length)


@dataclass
class ServiceContext:
    """The composition root of one api process: settings, clock, database, auth. Its database
    is the components' (``storage``) where they have one; otherwise (in-memory components) one
    on a client of its own, made when first used."""

    settings: Settings
    clock: Clock
    verifier: TokenVerifier
    ready_checks: dict[str, Callable[[], None]] = field(default_factory=dict)
    storage: Storage | None = None

    @cached_property
    def db(self) -> Database:
        if self.storage is not None:
            return self.storage.db
        return mongo.Mongo(self.settings.mongodb_uri).database(self.settings.mongodb_database)

    @cached_property
    def staff_directory(self) -> StaffDirectory:
        """Site roles of the callers whose issuer takes them from the directory."""
        return StaffDirectory(lambda: self.db[STAFF_DIRECTORY])


def context() -> ServiceContext:
    return current_app.extensions["dbt"]


COMPONENTS_EXTENSION = "dbt.components"


def components() -> Any:
    """The service's composition root (its ``bootstrap``), for views to call use cases with."""
    return current_app.extensions[COMPONENTS_EXTENSION]


def problem_for(error: DomainError) -> Problem:
    """The one map from a domain error to its problem response."""
    return Problem(
        error.status,
        title_for(error.status),
        error.detail,
        type_=PROBLEM_TYPE_BASE + error.problem_kind,
        errors=getattr(error, "field_errors", None),
        headers=getattr(error, "headers", None),  # e.g. a 429's Retry-After
        extra=error.members,
    )


def create_service_app(
    service: str,
    *,
    title: str,
    description: str,
    blueprints: list[Blueprint],
    components: Any = None,
    settings: Settings | None = None,
    clock: Clock | None = None,
    on_start: Callable[[ServiceContext], None] | None = None,
    problem_members: dict[str, fields.Field] | None = None,
    catalog: Catalog | None = None,
) -> Flask:
    """The api of ``service``. With ``catalog`` (the event types it records), events recorded
    by a request are handed to the broker right after the write (``dbt_shared.events.hand_off``)
    by the components' ``storage``, whose pending writes are made when the process exits."""
    settings = settings or Settings.from_env(service)
    logs.configure(service, settings.log_level, settings.log_format)
    app = Flask(service)
    app.config.update(
        **document_config(title, description),
        JSON_SORT_KEYS=False,
        # Werkzeug refuses a longer body when it is read; _begin refuses one announced by its
        # Content-Length before anything reads it.
        MAX_CONTENT_LENGTH=env_int("MAX_REQUEST_BODY_BYTES", DEFAULT_MAX_REQUEST_BODY_BYTES),
    )
    app.url_map.converters["default"] = app.url_map.converters["string"] = _BoundedSegment
    storage: Storage | None = getattr(components, "storage", None)
    ctx = ServiceContext(
        settings=settings,
        clock=clock or SystemClock(),
        verifier=TokenVerifier(settings.auth),
        storage=storage,
    )
    ctx.ready_checks["mongodb"] = lambda: mongo.ping(ctx.db.client)
    ctx.ready_checks["kafka"] = KafkaProbe(settings.kafka_bootstrap_servers)
    app.extensions["dbt"] = ctx
    if storage is not None:
        if catalog is not None:
            storage.hand_off.connect(
                lambda: EventPublisher(settings.kafka_bootstrap_servers, service, catalog)
            )
        atexit.register(storage.stop)  # a gunicorn worker's exit: its pending writes
    app.extensions[COMPONENTS_EXTENSION] = components

    hops = env_int("TRUSTED_PROXY_HOPS", 0)
    if hops:  # behind an ingress: the client's address (for the audit trail) is X-Forwarded-For
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    api = create_api(app, problem_members)
    for blueprint in blueprints:
        if isinstance(blueprint, flask_smorest.Blueprint):
            api.register_blueprint(blueprint)  # documented, under /v1
        else:  # a plain Flask blueprint: routes outside the API document (a calendar feed)
            app.register_blueprint(blueprint)

    _install_request_hooks(app, ctx)
    _install_operational_routes(app, ctx)
    _install_error_handlers(app)
    if on_start:
        try:
            on_start(ctx)
        except ConnectionFailure:
            # The worker prepares the same indexes; an api must still boot to report not-ready.
            log.warning("database unreachable at start-up; indexes left to the worker")
    return app


def _bound_body(limit: int) -> None:
    """Refuse a body above ``limit`` bytes (413) before anything reads it.

    A body of announced length is judged by its ``Content-Length``. A streamed (chunked) one is
    read up to one byte past the limit, never further, and handed on as a body of that length:
    Werkzeug would cut it at the limit silently, and the cut JSON would answer 400 instead."""
    too_large = Problem(413, "Content Too Large", f"A request body is at most {limit} bytes.")
    if request.content_length is not None:
        if request.content_length > limit:
            raise too_large
        return
    if "chunked" not in request.headers.get("Transfer-Encoding", "").lower():
        return
    body = request.environ["wsgi.input"].read(limit + 1)
    if len(body) > limit:
        raise too_large
    request.environ["wsgi.input"] = io.BytesIO(body)
    request.environ["CONTENT_LENGTH"] = str(len(body))


def _install_request_hooks(app: Flask, ctx: ServiceContext) -> None:
    service = ctx.settings.service

    @app.before_request
    def _begin() -> None:
        g.started = time.perf_counter()
        cid = correlation.accept_or_new(
            request.headers.get(REQUEST_ID_HEADER) or request.headers.get("X-Correlation-ID")
        )
        g.correlation_token = correlation.set_current(cid)
        g.request_id = cid
        _bound_body(current_app.config["MAX_CONTENT_LENGTH"])
        if request.path.startswith("/v1/"):
            if "\x00" in request.path:  # no id holds NUL: nothing there (and nothing stored)
                raise Problem(404, "Not Found", "No such resource.")
            view = current_app.view_functions.get(request.endpoint or "")
            if request.url_rule is not None and is_signed_request(view, request.method):
                return  # a provider's webhook: its view checks the request's signature
            g.principal = authenticate(ctx.verifier, ctx.staff_directory)
            # Deny by default: a matched operation runs only if its view has an access rule
            # that admits the caller. Unmatched paths and methods answer 404 / 405 as usual.
            if request.url_rule is not None and not (
                request.method == "OPTIONS" and request.url_rule.provide_automatic_options
            ):
                view = current_app.view_functions.get(request.endpoint or "")
                enforce_access_rule(view, request.method, g.principal)

    @app.after_request
    def _finish(response: Response) -> Response:
        route = request.url_rule.rule if request.url_rule else "unmatched"
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        metrics.HTTP_REQUESTS.labels(
            service, request.method, route, str(response.status_code)
        ).inc()
        metrics.HTTP_DURATION.labels(service, request.method, route).observe(elapsed)
        response.headers[REQUEST_ID_HEADER] = g.get("request_id", "")
        if route.startswith("/v1/"):
            log.info(
                "request",
                extra={
                    "method": request.method,
                    "route": route,  # the template, never the URL with its ids
                    "status": response.status_code,
                    "duration_ms": round(elapsed * 1000, 1),
                    "subject": g.principal.subject if g.get("principal") else None,
                },
            )
        return response

    @app.teardown_request
    def _end(_exc: BaseException | None) -> None:
        token = g.pop("correlation_token", None)
        if token is not None:
            correlation.reset(token)


def _install_operational_routes(app: Flask, ctx: ServiceContext) -> None:
    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok", service=ctx.settings.service)

    def failed_checks() -> dict[str, str]:
        """The readiness checks that fail now, each also set in ``dbt_dependency_up``."""
        failures = {}
        for name, check in ctx.ready_checks.items():
            try:
                check()
            except Exception as exc:
                failures[name] = type(exc).__name__
            metrics.DEPENDENCY_UP.labels(ctx.settings.service, name).set(
                0 if name in failures else 1
            )
        return failures

    @app.get("/readyz")
    def readyz():
        failures = failed_checks()
        if failures:
            problem = Problem(
                503,
                "Service Unavailable",
                "Not ready: " + ", ".join(f"{k} unreachable ({v})" for k, v in failures.items()),
                type_=PROBLEM_TYPE_BASE + "not-ready",
                extra={"checks": {name: name not in failures for name in ctx.ready_checks}},
            )
            return problem.to_response(instance="/readyz")
        return jsonify(status="ready", checks={name: True for name in ctx.ready_checks})

    @app.get("/metrics")
    def metrics_endpoint():
        # Each scrape runs the readiness checks (a ping, a broker metadata request cached 2 s),
        # so an alert sees a dependency out of reach without anything probing /readyz.
        failed_checks()
        payload, content_type = metrics.exposition()
        return Response(payload, mimetype=content_type.split(";")[0], content_type=content_type)


def _install_error_handlers(app: Flask) -> None:
    @app.errorhandler(Problem)
    def _problem(problem: Problem):
        return problem.to_response(instance=request.path)

    @app.errorhandler(DomainError)
    def _refused(error: DomainError):
        return problem_for(error).to_response(instance=request.path)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        # HTTPException has its own, more specific handler (ProblemApi); this is the rest.
        log.exception("unhandled error", extra={"route": str(request.url_rule)})
        return Problem(
            500,
            "Internal Server Error",
            "Something went wrong on our side; the request id identifies it.",
        ).to_response(instance=request.path)
