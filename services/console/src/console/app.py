"""Console web app: ``gunicorn 'console.app:create_app()'`` (``dbt_shared.gunicorn_conf``)."""

from __future__ import annotations

from flask import Flask, Response, jsonify

from console import views, web
from console.bootstrap import SERVICE, Components, bootstrap
from console.sessions import MongoSessionStore, ServerSessionInterface
from dbt_shared import logs, metrics
from dbt_shared.problems import PROBLEM_TYPE_BASE, Problem
from dbt_shared.storage import mongo


def create_app(components: Components | None = None) -> Flask:
    """The console on ``components``: the process's own unless a test passes ``in_memory``."""
    wired = components or bootstrap()
    settings = wired.settings
    logs.configure(SERVICE, settings.log_level, settings.log_format)
    app = Flask(__name__)  # templates/ and static/ beside this module
    app.secret_key = settings.secret_key
    app.config.update(
        SESSION_COOKIE_NAME="dbt_console",
        MAX_CONTENT_LENGTH=256 * 1024,  # the largest form is a few kilobytes
        # Jinja escapes every value it writes; a template never marks client data safe.
        TEMPLATES_AUTO_RELOAD=False,
    )
    app.extensions[web.COMPONENTS] = wired
    app.session_interface = ServerSessionInterface(
        wired.sessions, wired.clock, settings.session_idle_s, settings.secure_cookies
    )
    wired.identity.init_app(app)
    if isinstance(wired.sessions, MongoSessionStore):
        try:
            wired.sessions.ensure_indexes()
        except Exception:  # the database down at start: /readyz says so, pages answer 503
            app.logger.warning("console.sessions indexes not made at start")
    web.install(app)
    for blueprint in views.BLUEPRINTS:
        app.register_blueprint(blueprint)
    _install_operational_routes(app, wired)
    return app


def _install_operational_routes(app: Flask, wired: Components) -> None:
    @app.get("/healthz")
    @web.public
    def healthz():
        return jsonify(status="ok", service=SERVICE)

    @app.get("/readyz")
    @web.public
    def readyz():
        checks = {}
        if isinstance(wired.sessions, MongoSessionStore):
            try:
                mongo.ping(wired.sessions.collection.database.client)
                checks["mongodb"] = True
            except Exception:
                checks["mongodb"] = False
        if all(checks.values()):
            return jsonify(status="ready", checks=checks)
        # the same problem body as the services' /readyz
        return Problem(
            503,
            "Service Unavailable",
            "Not ready: the session store (mongodb) is unreachable.",
            type_=PROBLEM_TYPE_BASE + "not-ready",
            extra={"checks": checks},
        ).to_response(instance="/readyz")

    @app.get("/metrics")
    @web.public
    def metrics_endpoint():
        payload, content_type = metrics.exposition()
        return Response(payload, mimetype=content_type.split(";")[0], content_type=content_type)
