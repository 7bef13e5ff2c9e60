"""Bearer-token authentication and site-scoped authorisation.

Algorithms come from configuration, never from the token header; ``exp``, ``aud``, ``iss`` and
``sub`` are required. Claims: ``roles`` (operator, coordinator, therapist, facilitator, client,
service) and ``sites`` (the site ids the subject may act on). An operator acts on every site of
the organisation; every other role only on the sites in its token.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import requests
from flask import g, request

from dbt_shared import vocabulary
from dbt_shared.config import AuthSettings
from dbt_shared.errors import NotFound
from dbt_shared.problems import PROBLEM_TYPE_BASE, Problem

log = logging.getLogger(__name__)

ROLES = vocabulary.ROLES
# Everyone but clients: who may read organisation data such as sites and programs.
STAFF_AND_SERVICES = ("operator", "coordinator", "therapist", "facilitator", "service")


@dataclass(frozen=True)
class Principal:
    """Who acts: from a verified token (api), or the service itself (event handlers, timers)."""

    subject: str
    roles: frozenset[str]
    sites: frozenset[str]
    remote_addr: str | None = None

    @classmethod
    def service(cls, name: str) -> Principal:
        return cls(subject=f"service:{name}", roles=frozenset({"service"}), sites=frozenset())

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    def can_act_on_site(self, site_id: str) -> bool:
        return "operator" in self.roles or "service" in self.roles or site_id in self.sites

    def site_filter(self) -> frozenset[str] | None:
        """The sites a list query must be limited to; ``None`` means every site."""
        if "operator" in self.roles or "service" in self.roles:
            return None
        return self.sites

    def require_site(self, site_id: str, what: str = "site") -> None:
        """Another site's object answers 404: its existence is not disclosed."""
        if not self.can_act_on_site(site_id):
            raise NotFound(what)

    def scope(self, query: dict[str, Any], site_field: str = "site_id") -> dict[str, Any]:
        """Limit a list query to these sites (keeping any narrower site filter it has)."""
        sites = self.site_filter()
        if sites is None:
            return query
        scope = {site_field: {"$in": sorted(sites)}}
        return {"$and": [query, scope]} if site_field in query else {**query, **scope}


def unauthorized(detail: str) -> Problem:
    return Problem(
        401,
        "Unauthorized",
        detail,
        type_=PROBLEM_TYPE_BASE + "unauthorized",
        headers={"WWW-Authenticate": 'Bearer realm="dbt-platform"'},
    )


def forbidden(detail: str) -> Problem:
    return Problem(403, "Forbidden", detail, type_=PROBLEM_TYPE_BASE + "forbidden")


class TokenVerifier:
    """Checks a bearer token's signature and claims. A token that passed is remembered until it
    expires (at most ``VERIFIED_TTL_S``, ``VERIFIED_MAX`` tokens): a client's next calls with
    the same token skip the signature check, which costs more than the rest of a small call."""

    VERIFIED_TTL_S = 300.0
    VERIFIED_MAX = 4096

    def __init__(self, settings: AuthSettings) -> None:
        self.settings = settings
        self._jwks = jwt.PyJWKClient(settings.jwks_url) if settings.jwks_url else None
        self._key = Path(settings.public_key_file).read_text() if settings.public_key_file else None
        self._verified: dict[str, tuple[float, Principal]] = {}

    def verify(self, token: str) -> Principal:
        now = time.time()
        known = self._verified.get(token)
        if known is not None and now < known[0]:
            return known[1]
        principal, expires_at = self._check(token)
        if len(self._verified) >= self.VERIFIED_MAX:
            self._verified.clear()
        self._verified[token] = (min(expires_at, now + self.VERIFIED_TTL_S), principal)
        return principal

    def _check(self, token: str) -> tuple[Principal, float]:
        try:
            key: Any = self._jwks.get_signing_key_from_jwt(token).key if self._jwks else self._key
            claims = jwt.decode(
                token,
                key,
                algorithms=list(self.settings.algorithms),
                audience=self.settings.audience,
                issuer=self.settings.issuer,
                options={"require": ["exp", "iat", "aud", "iss", "sub"]},
                leeway=30,
            )
        except jwt.PyJWTError as exc:
            raise unauthorized(f"invalid token: {type(exc).__name__}") from exc
        roles = claims.get("roles") or []
        sites = claims.get("sites") or []
        if not isinstance(roles, list) or not isinstance(sites, list):
            raise unauthorized("invalid token: roles and sites must be lists")
        principal = Principal(
            subject=str(claims["sub"]),
            roles=frozenset(r for r in roles if r in ROLES),
            sites=frozenset(str(s) for s in sites),
        )
        return principal, float(claims["exp"])


def authenticate(verifier: TokenVerifier) -> Principal:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("a bearer token is required")
    principal = verifier.verify(token.strip())
    return dataclasses.replace(principal, remote_addr=request.remote_addr)


def current_principal() -> Principal:
    principal = g.get("principal")
    if principal is None:
        raise unauthorized("a bearer token is required")
    return principal


ACCESS_RULE_ATTR = "access_roles"


def require_roles(*roles: str) -> Callable:
    """Decorator: the access rule of a view, the roles of which the caller must hold one.

    Access is denied by default: ``create_service_app`` refuses (403) every ``/v1`` operation
    whose view carries no rule, before the view runs (``enforce_access_rule``). The rule is
    kept on the function (``functools.wraps`` carries it through flask-smorest's decorators).
    """
    unknown = set(roles) - set(ROLES)
    if not roles or unknown:
        raise ValueError(f"an access rule needs known roles, got {roles}")

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if not current_principal().has_role(*roles):
                raise forbidden(f"this needs one of the roles: {', '.join(roles)}")
            return view(*args, **kwargs)

        setattr(wrapper, ACCESS_RULE_ATTR, tuple(roles))
        return wrapper

    return decorate


SIGNED_ATTR = "_dbt_signed_request"


def signed_request(view: Callable) -> Callable:
    """The access rule of a provider's webhook (an SMS provider's inbound messages): no bearer
    token, the view itself checks the request's signature and refuses anything unsigned."""
    setattr(view, SIGNED_ATTR, True)
    return view


def _method_of(view_function: Callable | None, method: str) -> Callable | None:
    view_class = getattr(view_function, "view_class", None)
    if view_class is not None:
        name = "get" if method.upper() == "HEAD" else method.lower()
        return getattr(view_class, name, None)
    return view_function


def is_signed_request(view_function: Callable | None, method: str) -> bool:
    return bool(getattr(_method_of(view_function, method), SIGNED_ATTR, False))


def access_rule_of(view_function: Callable | None, method: str) -> tuple[str, ...] | None:
    """The roles allowed to call ``method`` on a Flask view (a MethodView's method or a plain
    function), or ``None`` when the view has no rule."""
    if view_function is None:
        return None
    view_class = getattr(view_function, "view_class", None)
    if view_class is not None:
        name = "get" if method.upper() == "HEAD" else method.lower()
        view_function = getattr(view_class, name, None)
        if view_function is None:
            return None
    return getattr(view_function, ACCESS_RULE_ATTR, None)


def enforce_access_rule(view_function: Callable | None, method: str, principal: Principal) -> None:
    roles = access_rule_of(view_function, method)
    if roles is None:
        raise forbidden("no access rule allows this operation")
    if not principal.has_role(*roles):
        raise forbidden(f"this needs one of the roles: {', '.join(roles)}")


def require_site(site_id: str, what: str = "site") -> None:
    """``Principal.require_site`` for the caller of the request in hand."""
    current_principal().require_site(site_id, what)


def scope_query(query: dict[str, Any], site_field: str = "site_id") -> dict[str, Any]:
    """Limit a list query to the caller's sites (keeping any narrower site filter it has)."""
    return current_principal().scope(query, site_field)


class ServiceTokens:
    """Tokens this service presents to other services' APIs (role ``service``).

    Production: OAuth2 client credentials against ``AUTH_TOKEN_URL``. Development: signed locally
    with the dev key (``AUTH_SIGNING_KEY_FILE``), which the dev stack's services trust.
    """

    def __init__(self, settings: AuthSettings, service: str, ttl_s: int = 300) -> None:
        self.settings = settings
        self.service = service
        self.ttl_s = ttl_s
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()

    def token(self) -> str:
        with self._lock:
            if self._token and time.time() < self._expires_at - 30:
                return self._token
            self._token, self._expires_at = self._fetch()
            return self._token

    def _fetch(self) -> tuple[str, float]:
        s = self.settings
        if s.token_url and s.client_id and s.client_secret:
            response = requests.post(
                s.token_url,
                data={"grant_type": "client_credentials", "audience": s.audience},
                auth=(s.client_id, s.client_secret),
                timeout=10,
            )
            response.raise_for_status()
            body = response.json()
            return body["access_token"], time.time() + float(body.get("expires_in", 60))
        if s.signing_key_file:
            now = int(time.time())
            claims = {
                "sub": f"service:{self.service}",
                "roles": ["service"],
                "sites": [],
                "iss": s.issuer,
                "aud": s.audience,
                "iat": now,
                "exp": now + self.ttl_s,
            }
            key = Path(s.signing_key_file).read_text()
            return jwt.encode(claims, key, algorithm=s.algorithms[0]), now + self.ttl_s
        raise RuntimeError(
            "no way to obtain a service token: set AUTH_TOKEN_URL with SERVICE_CLIENT_ID and "
            "SERVICE_CLIENT_SECRET, or AUTH_SIGNING_KEY_FILE in development"
        )
