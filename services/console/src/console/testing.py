"""Fakes at the console's two boundaries, for unit and page tests: the identity provider and
the services' HTTP. Everything between them (sessions, CSRF, the service client, the pages)
runs for real."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, redirect, request, session

from console.client import Answer
from console.identity import RefreshFailed, SignInFailed
from dbt_shared.clock import Clock


def unsigned_jwt(claims: dict[str, Any]) -> str:
    """A token-shaped string with these claims (the console never checks its signature)."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}.sig"


class FakeProvider:
    """Stands where Authlib's client does: the authorize redirect (state kept in the session,
    as Authlib keeps it), the code exchange, refresh and end-session."""

    AUTHORIZE = "https://idp.test/auth"
    END_SESSION = "https://idp.test/logout"

    def __init__(self, clock: Clock, lifetime_s: int = 300) -> None:
        self.clock = clock
        self.lifetime_s = lifetime_s
        self.user: dict[str, Any] = {}
        self.issued = 0
        self.refreshed: list[str] = []
        self.refusing_refresh = False

    def sign_in_as(self, name: str, roles: list[str], sites: list[str] | None = None, sub=None):
        self.user = {"name": name, "roles": roles, "sites": sites or [], "sub": sub or name}

    def init_app(self, app: Flask) -> None:
        return None

    def authorize_redirect(self, redirect_uri: str) -> Response:
        session["_fake_state"] = state = f"state-{self.issued}"
        query = urlencode(
            {"state": state, "redirect_uri": redirect_uri, "code_challenge_method": "S256"}
        )
        return redirect(f"{self.AUTHORIZE}?{query}")

    def complete_sign_in(self) -> dict[str, Any]:
        if request.args.get("state") != session.pop("_fake_state", None):
            raise SignInFailed("MismatchingStateError")
        return self._tokens() | {"userinfo": {"sub": self.user["sub"], "name": self.user["name"]}}

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        self.refreshed.append(refresh_token)
        if self.refusing_refresh:
            raise RefreshFailed("invalid_grant")
        return self._tokens()

    def end_session_url(self, id_token: str | None, post_logout_redirect_uri: str) -> str:
        query = {"post_logout_redirect_uri": post_logout_redirect_uri}
        if id_token:
            query["id_token_hint"] = id_token
        return f"{self.END_SESSION}?{urlencode(query)}"

    def _tokens(self) -> dict[str, Any]:
        self.issued += 1
        now = int(self.clock.now().timestamp())
        claims = {
            "sub": self.user["sub"],
            "roles": self.user["roles"],
            "sites": self.user["sites"],
            "exp": now + self.lifetime_s,
            "n": self.issued,
        }
        return {
            "access_token": unsigned_jwt(claims),
            "refresh_token": f"refresh-{self.issued}",
            "id_token": f"id-{self.issued}",
            "expires_at": now + self.lifetime_s,
        }


Route = Callable[[dict[str, Any] | None, Any], Any]


class FakeServices:
    """The services' HTTP, answered from routes a test sets: ``(method, service, path regex)``
    -> a body, an ``Answer``, or a function of (query, body). Every call is recorded, with its
    headers, so a test can see which token was sent."""

    def __init__(self, urls: dict[str, str]) -> None:
        self.by_base = {base: name for name, base in urls.items()}
        self.routes: list[tuple[str, str, re.Pattern, Any]] = []
        self.down: set[str] = set()
        self.calls: list[dict[str, Any]] = []

    def on(self, method: str, service: str, path: str, answer: Any) -> None:
        self.routes.insert(0, (method, service, re.compile(path + r"\Z"), answer))

    def __call__(self, method, url, headers, params, body, timeout) -> Answer:
        service, path = next(
            (name, url[len(base) :]) for base, name in self.by_base.items() if url.startswith(base)
        )
        self.calls.append(
            {
                "method": method,
                "service": service,
                "path": path,
                "params": params,
                "body": body,
                "headers": headers,
            }
        )
        if service in self.down:
            raise ConnectionError(f"{service} refused the connection")
        for want_method, want_service, pattern, answer in self.routes:
            if want_method == method and want_service == service and pattern.match(path):
                if callable(answer):
                    answer = answer(params, body)
                return answer if isinstance(answer, Answer) else Answer(200, {}, answer)
        if (method, service, path) == ("GET", "intake", "/v1/staff/me/roles"):
            return Answer(200, {}, self.directory_agreeing_with(headers["Authorization"]))
        return Answer(404, {}, {"status": 404, "title": "Not Found", "detail": "No route."})

    @staticmethod
    def directory_agreeing_with(authorization: str) -> dict[str, Any]:
        """Unless a test says otherwise, the staff directory gives what the token claims: its
        organisation-wide roles, and its other roles at each of its sites."""
        payload = authorization.split()[-1].split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        roles = set(claims.get("roles") or [])
        organisation = sorted(roles & {"operator", "ops"})
        at_site = sorted(roles - set(organisation))
        return {
            "id": claims.get("sub"),
            "organisation_roles": organisation,
            "memberships": [
                {"site_id": site, "roles": at_site} for site in claims.get("sites") or [] if at_site
            ],
        }


def problem(status: int, detail: str, errors: list[dict[str, str]] | None = None) -> Answer:
    body: dict[str, Any] = {"status": status, "detail": detail, "title": "Refused"}
    if errors:
        body["errors"] = errors
    return Answer(status, {"Content-Type": "application/problem+json"}, body)


def page(items: list[dict[str, Any]], next_cursor: str | None = None) -> dict[str, Any]:
    """A list as the services answer it (architecture.md: ``{"items", "next_cursor"}``)."""
    return {"items": list(items), "next_cursor": next_cursor}
