"""What every console page goes through: the session, sign-in, CSRF, security headers,
request metrics and logs, and the pages for errors (a service down, no access, no such page).

Deny by default: a view answers a visitor who is not signed in only if it is marked ``public``;
every other is sent to sign in. A page for some roles only says so with ``roles(...)``; the
services check every call again, so this only spares a user a page they cannot use.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import time
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Flask,
    Response,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.exceptions import HTTPException

from console.client import CallCount, ServiceRefused, ServiceUnavailable, SignedOut, UserCalls
from console.identity import RefreshFailed, tokens_from, user_from, with_directory
from dbt_shared import correlation, metrics

log = logging.getLogger(__name__)

COMPONENTS = "console.components"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
#: The access token is renewed when it has less than this many seconds left.
REFRESH_MARGIN_S = 30
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

ROLE_NAMES = {
    "operator": "Operator",
    "coordinator": "Intake coordinator",
    "facilitator": "Group facilitator",
    "therapist": "Therapist",
    "ops": "Operations",
}


def components() -> Any:
    return current_app.extensions[COMPONENTS]


def public(view: Callable) -> Callable:
    """A page anyone may open, signed in or not (the start page, the sign-in steps)."""
    view.public = True  # type: ignore[attr-defined]
    return view


def roles(*allowed: str) -> Callable:
    """A page for users holding one of ``allowed``; others get the 'no access' page."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def guarded(*args, **kwargs):
            if not set(current_user().get("roles", ())) & set(allowed):
                return error_page(403)
            return view(*args, **kwargs)

        return guarded

    return decorate


def current_user() -> dict[str, Any]:
    return session.get("user") or {}


def api() -> UserCalls:
    """The services, called as the signed-in user."""
    return components().services.as_user(
        session["tokens"]["access_token"], correlation.current(), g.get("service_calls")
    )


def csrf_token() -> str:
    return session.get("csrf", "")


def start_signed_in_session(token: dict[str, Any], user: dict[str, Any]) -> None:
    session.regenerate()
    session.clear()
    session["user"] = _from_directory(user, token["access_token"])
    session["tokens"] = tokens_from(token)
    session["csrf"] = secrets.token_urlsafe(32)


def _from_directory(user: dict[str, Any], access_token: str) -> dict[str, Any]:
    """Who may do what where, from the staff directory, as every service applies it: the
    pages then offer what the services will allow. While intake does not answer, the token's
    own claims are shown (the services still decide every call)."""
    calls = components().services.as_user(
        access_token, correlation.current(), g.get("service_calls")
    )
    try:
        me = calls.get("intake", "/v1/staff/me/roles")
    except ServiceRefused as exc:
        if exc.status not in (403, 404):
            raise
        me = None  # not in the directory: no site roles
    except (ServiceUnavailable, SignedOut):
        log.warning("staff directory unavailable at sign-in; token roles shown")
        return user
    return with_directory(user, me)


def field_id(name: str) -> str:
    """The HTML id of a form field named by its service field path (``client.email``)."""
    return "f-" + "".join(c if c.isalnum() else "-" for c in name)


def error_page(status: int, service: str | None = None) -> tuple[str, int]:
    return render_template("error.html", status=status, service=service), status


def install(app: Flask) -> None:
    """The hooks, headers and error pages of every page."""
    app.jinja_env.globals.update(
        current_user=current_user, csrf_token=csrf_token, role_name=ROLE_NAMES.get
    )
    app.jinja_env.filters["field_id"] = field_id
    _install_hooks(app)
    _install_errors(app)


def _install_hooks(app: Flask) -> None:
    @app.before_request
    def _begin() -> Response | tuple[str, int] | None:
        g.started = time.perf_counter()
        g.service_calls = CallCount()
        g.correlation_token = correlation.set_current(correlation.accept_or_new(None))
        if request.path.startswith(("/static/", "/healthz", "/readyz", "/metrics")):
            return None
        view = current_app.view_functions.get(request.endpoint or "")
        signed_in = bool(session.get("user"))
        if signed_in:
            ended = _renew_tokens()
            if ended:
                return ended
        if request.endpoint == "auth.sign_out" and not signed_in:
            # Already ended (idle, or another tab): nothing to sign out of, no form to check.
            return redirect(url_for("pages.start"))
        if view is None or getattr(view, "public", False):
            return _check_csrf() if request.method in UNSAFE_METHODS else None
        if not session.get("user"):
            reason = "idle" if getattr(session, "timed_out", False) else None
            if request.headers.get("HX-Request"):
                # htmx follows HX-Redirect with a full page load instead of swapping a fragment
                response = Response(status=401)
                response.headers["HX-Redirect"] = url_for("pages.start", ended=reason)
                return response
            wanted = request.full_path.rstrip("?") if request.method == "GET" else None
            return redirect(url_for("pages.start", ended=reason, next=wanted))
        if request.method in UNSAFE_METHODS:
            return _check_csrf()
        return None

    @app.after_request
    def _finish(response: Response) -> Response:
        route = request.url_rule.rule if request.url_rule else "unmatched"
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        metrics.HTTP_REQUESTS.labels(
            "console", request.method, route, str(response.status_code)
        ).inc()
        metrics.HTTP_DURATION.labels("console", request.method, route).observe(elapsed)
        _secure(response)
        if not request.path.startswith(("/static/", "/healthz", "/readyz", "/metrics")):
            _report_cost(response, elapsed)
            log.info(
                "request",
                extra={
                    "method": request.method,
                    "route": route,  # the template, never the URL with its ids
                    "status": response.status_code,
                    "duration_ms": round(elapsed * 1000, 1),
                    "subject": current_user().get("sub") if session else None,
                },
            )
        return response

    @app.teardown_request
    def _end(_exc: BaseException | None) -> None:
        token = g.pop("correlation_token", None)
        if token is not None:
            correlation.reset(token)


#: The header naming how many calls to the services a page made (``make bench`` reads it, and
#: tests: a list page makes a constant number, never one per row).
SERVICE_CALLS_HEADER = "Console-Service-Calls"


def _report_cost(response: Response, elapsed_s: float) -> None:
    """What the page cost the server, for ``make bench`` and the browser's Performance API:
    ``Server-Timing`` (the console's whole time, and the time its service calls took, summed)
    and the number of service calls. Figures only, nothing about whom the page shows."""
    count = g.get("service_calls")
    if count is None:
        return
    response.headers["Server-Timing"] = (
        f"app;dur={elapsed_s * 1000:.1f}, services;dur={count.waited_s * 1000:.1f}"
    )
    response.headers[SERVICE_CALLS_HEADER] = str(count.calls)


def _renew_tokens() -> Response | None:
    """Refresh the access token shortly before it expires; end the session if that fails."""
    tokens = session["tokens"]
    now = components().clock.now().timestamp()
    if tokens.get("expires_at", 0) - now > REFRESH_MARGIN_S:
        return None
    try:
        if not tokens.get("refresh_token"):
            raise RefreshFailed("no refresh token")
        renewed = components().identity.refresh(tokens["refresh_token"])
    except RefreshFailed:
        session.end()
        return redirect(url_for("pages.start", ended="expired"))
    session["tokens"] = tokens_from(renewed, tokens)
    # a role given or taken away shows within one token lifetime, not at the next sign-in
    session["user"] = _from_directory(user_from(renewed) | _kept_name(), renewed["access_token"])
    return None


def _kept_name() -> dict[str, Any]:
    """A refresh answer may carry no id token: keep the name shown since sign-in."""
    user = session.get("user") or {}
    return {"name": user.get("name"), "sub": user.get("sub")} if user else {}


def _check_csrf() -> tuple[str, int] | None:
    """Every form carries the session's token (a hidden field); htmx sends it as a header."""
    expected = session.get("csrf")
    given = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    if not expected or not hmac.compare_digest(str(expected), str(given)):
        return error_page(400)
    return None


def content_security_policy() -> str:
    issuer = components().settings.oidc_issuer
    parts = urlsplit(issuer)
    provider = f"{parts.scheme}://{parts.netloc}"
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; "
        # sign-out posts a form that is redirected to the provider's end-session page
        f"form-action 'self' {provider}"
    )


def _secure(response: Response) -> None:
    headers = response.headers
    headers["Content-Security-Policy"] = content_security_policy()
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    headers["X-Frame-Options"] = "DENY"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    if not request.path.startswith("/static/"):
        # Pages show client data: never kept by the browser or a proxy (the back button on a
        # shared computer after sign-out shows nothing).
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"


def _install_errors(app: Flask) -> None:
    @app.errorhandler(ServiceUnavailable)
    def _unavailable(exc: ServiceUnavailable):
        log.warning("service unavailable", extra={"unavailable": exc.service, "cause": exc.cause})
        return error_page(503, exc.service)

    @app.errorhandler(ServiceRefused)
    def _refused(exc: ServiceRefused):
        status = exc.status if exc.status in (403, 404, 409) else 400
        return error_page(status, exc.service)

    @app.errorhandler(SignedOut)
    def _signed_out(_exc: SignedOut):
        session.end()
        return redirect(url_for("pages.start", ended="expired"))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        return error_page(exc.code or 500)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error", extra={"route": str(request.url_rule)})
        return error_page(500)
