"""Bearer tokens: checking those that come in (:class:`TokenVerifier`, with the identity
provider's keys kept by :class:`JwksKeys`; :func:`authenticate` makes the request's caller, a
:class:`~dbt_shared.auth.Principal`, from its token), and getting those this service presents to
other services' APIs (:class:`ServiceTokens`).

Algorithms come from configuration, never from the token header; ``exp``, ``iat``, ``aud``,
``iss`` and ``sub`` are required. The token's ``iss`` picks which trusted issuer's keys check it
(``AUTH_ISSUER``, and locally a second one, ``AUTH_EXTRA_ISSUER``: the dev key and Keycloak); a
token from any other issuer is refused before a key is looked up, and a token whose lifetime
(``exp - iat``) is above ``AUTH_MAX_TOKEN_LIFETIME_S`` is refused. What the claims grant:
:mod:`dbt_shared.auth`."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import jwt
import requests
from flask import request

from dbt_shared.auth import (
    ORG_WIDE,
    ROLES,
    SERVICE_NAME,
    SERVICE_PREFIX,
    Principal,
    unauthorized,
)
from dbt_shared.config import AuthSettings, TrustedIssuer
from dbt_shared.problems import Problem

log = logging.getLogger(__name__)


class KeysUnavailable(Exception):
    """The identity provider's keys could not be had, and no recent enough copy is kept."""


def _fetch_json(url: str) -> dict[str, Any]:
    response = requests.get(url, timeout=5)
    response.raise_for_status()
    return response.json()


class JwksKeys:
    """The identity provider's signing keys (``AUTH_JWKS_URL``), kept between fetches.

    The set is fetched again every ``refresh_s``; a key id not in the set (a rotated key) makes
    a fetch at most once a minute, so tokens with made-up key ids cannot hammer the provider.
    When a fetch fails (the provider briefly down), the last good set keeps serving for
    ``stale_s`` past its refresh time; failed fetches are retried at most every
    ``RETRY_AFTER_FAILURE_S`` (requests are not each held up by a timeout). After that, tokens
    cannot be checked: ``KeysUnavailable`` (503), never a token let through unchecked.
    """

    UNKNOWN_KID_INTERVAL_S = 60.0
    RETRY_AFTER_FAILURE_S = 10.0

    def __init__(
        self,
        url: str,
        refresh_s: float,
        stale_s: float,
        *,
        fetch: Callable[[], dict[str, Any]] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.refresh_s = refresh_s
        self.stale_s = stale_s
        self._fetch = fetch or (lambda: _fetch_json(url))
        self._clock = clock
        self._keys: dict[str | None, Any] = {}
        self._fetched_at: float | None = None
        self._last_attempt: float | None = None
        self._last_failed = False
        self._lock = threading.Lock()

    def key_for(self, token: str) -> Any:
        kid = jwt.get_unverified_header(token).get("kid")  # DecodeError: a 401
        now = self._clock()
        if self._fetched_at is None or now - self._fetched_at >= self.refresh_s:
            self._refresh(now)
        key = self._find(kid)
        if key is None and self._since_attempt(now) >= self.UNKNOWN_KID_INTERVAL_S:
            self._refresh(now)  # the provider may have rotated its keys
            key = self._find(kid)
        if self._fetched_at is None or now - self._fetched_at >= self.refresh_s + self.stale_s:
            raise KeysUnavailable("the identity provider's keys could not be fetched")
        if key is None:
            raise jwt.PyJWKClientError("the token's key is not in the identity provider's set")
        return key

    def _since_attempt(self, now: float) -> float:
        return float("inf") if self._last_attempt is None else now - self._last_attempt

    def _find(self, kid: str | None) -> Any:
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        return self._keys.get(kid)

    def _refresh(self, now: float) -> None:
        if self._last_failed and self._since_attempt(now) < self.RETRY_AFTER_FAILURE_S:
            return
        # One thread fetches; the others go on with the set in hand (if there is one).
        if not self._lock.acquire(blocking=self._fetched_at is None):
            return
        try:
            if self._last_attempt is not None and self._last_attempt > now:
                return  # another thread fetched while this one waited
            self._last_attempt = self._clock()
            try:
                keyset = jwt.PyJWKSet.from_dict(self._fetch())
            except Exception as exc:  # any network, HTTP, JSON or key-set error
                self._last_failed = True
                age = None if self._fetched_at is None else now - self._fetched_at
                if age is None:
                    kept = "no key set yet"
                elif age < self.refresh_s + self.stale_s:
                    kept = f"the set fetched {age:.0f} s ago still serves"
                else:
                    kept = f"the set fetched {age:.0f} s ago is too old to serve"
                log.warning("JWKS fetch failed (%s); %s", type(exc).__name__, kept)
                return
            self._keys = {k.key_id: k.key for k in keyset.keys if k.public_key_use in (None, "sig")}
            self._fetched_at = self._last_attempt
            self._last_failed = False
        finally:
            self._lock.release()


class TokenVerifier:
    """Checks a bearer token's signature and claims. A token that passed is remembered until it
    expires (at most ``VERIFIED_TTL_S``, ``VERIFIED_MAX`` tokens): a client's next calls with
    the same token skip the signature check, which costs more than the rest of a small call."""

    VERIFIED_TTL_S = 300.0
    VERIFIED_MAX = 4096

    def __init__(self, settings: AuthSettings, jwks: JwksKeys | None = None) -> None:
        """``jwks``: the key set of the first (``AUTH_ISSUER``) issuer, instead of one made
        from its ``jwks_url`` (tests)."""
        self.settings = settings
        # The key lookup of each trusted issuer, by issuer string.
        self._keys: dict[str, Callable[[str], Any]] = {}
        # Where each issuer's tokens take their site roles from (``SITE_ROLES_FROM``).
        self._site_roles_from: dict[str, str] = {}
        for index, trusted in enumerate(settings.trusted_issuers()):
            self._keys[trusted.issuer] = self._key_source(trusted, jwks if index == 0 else None)
            self._site_roles_from[trusted.issuer] = trusted.site_roles_from
        self._verified: dict[str, tuple[float, Principal]] = {}

    def _key_source(self, trusted: TrustedIssuer, jwks: JwksKeys | None) -> Callable[[str], Any]:
        s = self.settings
        if jwks is None and trusted.jwks_url:
            jwks = JwksKeys(trusted.jwks_url, s.jwks_refresh_s, s.jwks_stale_s)
        if jwks is not None:
            return jwks.key_for
        if trusted.public_key_file:
            pem = Path(trusted.public_key_file).read_text()
            return lambda _token: pem
        raise ValueError(f"issuer {trusted.issuer!r} has no keys (a JWKS URL or a public key)")

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
            # Unverified, only to pick the keys: the decode below checks the signature with
            # that issuer's keys and the issuer again.
            issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
            key_for = self._keys.get(issuer) if isinstance(issuer, str) else None
            if key_for is None:
                raise jwt.InvalidIssuerError("the token's issuer is not trusted")
            claims = jwt.decode(
                token,
                key_for(token),
                algorithms=list(self.settings.algorithms),
                audience=self.settings.audience,
                issuer=issuer,
                options={"require": ["exp", "iat", "aud", "iss", "sub"]},
                leeway=30,
            )
        except KeysUnavailable as exc:
            raise Problem(
                503,
                "Service Unavailable",
                "tokens cannot be checked: the identity provider's keys are unavailable",
                headers={"Retry-After": str(int(JwksKeys.RETRY_AFTER_FAILURE_S))},
            ) from exc
        except jwt.PyJWTError as exc:
            raise unauthorized(f"invalid token: {type(exc).__name__}") from exc
        lifetime = float(claims["exp"]) - float(claims["iat"])
        if lifetime > self.settings.max_token_lifetime_s:
            raise unauthorized(
                f"invalid token: its lifetime is above {self.settings.max_token_lifetime_s} s"
            )
        roles = claims.get("roles") or []
        sites = claims.get("sites") or []
        if not isinstance(roles, list) or not isinstance(sites, list):
            raise unauthorized("invalid token: roles and sites must be lists")
        known_roles = frozenset(r for r in roles if r in ROLES)
        service_name = _calling_service(claims) if "service" in known_roles else None
        if service_name is None:
            known_roles -= {"service"}  # a service token that names no service grants nothing
        if self._site_roles_from.get(claims["iss"]) == "directory":
            # Who works where is the platform's data: the token's site roles and sites are not
            # trusted; ``authenticate`` reads them from the staff directory, at every request.
            # A client's sites stay, as a hint only (a crisis request's site): with no site
            # role anywhere they pass no site check.
            principal = Principal(
                subject=str(claims["sub"]),
                roles=known_roles.intersection(ORG_WIDE),
                sites=frozenset(str(s) for s in sites if "client" in known_roles),
                service_name=service_name,
                site_roles={},
                site_roles_from="directory",
            )
            return principal, float(claims["exp"])
        principal = Principal(
            subject=str(claims["sub"]),
            roles=known_roles,
            sites=frozenset(str(s) for s in sites),
            service_name=service_name,
        )
        return principal, float(claims["exp"])


def _calling_service(claims: dict[str, Any]) -> str | None:
    """The calling service of a ``service`` token: ``azp`` (the OAuth client it was issued to;
    name each service's client after the service), else the name in a ``service:<name>``
    subject. ``None`` when neither names a service."""
    azp = claims.get("azp")
    sub = str(claims.get("sub", ""))
    name = azp if isinstance(azp, str) and azp else None
    if name is None and sub.startswith(SERVICE_PREFIX):
        name = sub[len(SERVICE_PREFIX) :]
    return name if name is not None and SERVICE_NAME.match(name) else None


class SiteRoleSource(Protocol):
    """Where a ``directory`` issuer's callers get their site roles (``StaffDirectory``)."""

    def apply(self, principal: Principal) -> Principal: ...


def authenticate(verifier: TokenVerifier, directory: SiteRoleSource | None = None) -> Principal:
    """The request's caller. A token whose issuer takes site roles from the directory gets
    them here, at each request (not with the verified token, kept for minutes): a membership
    removed takes effect within the directory's cache time. Without a directory: none."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("a bearer token is required")
    principal = verifier.verify(token.strip())
    if principal.site_roles_from == "directory" and directory is not None:
        principal = directory.apply(principal)
    return dataclasses.replace(principal, remote_addr=request.remote_addr)


class ServiceTokens:
    """Tokens this service presents to other services' APIs (role ``service``), naming this
    service as the caller (``azp`` and subject ``service:<name>``): a route admits only the
    services its rule names.

    Production: OAuth2 client credentials against ``AUTH_TOKEN_URL`` (the provider sets ``azp``
    to the client id: name each service's client after the service). Development: signed
    locally with the dev key (``AUTH_SIGNING_KEY_FILE``), which the dev stack's services trust.
    """

    def __init__(self, settings: AuthSettings, service: str, ttl_s: int = 300) -> None:
        self.settings = settings
        self.service = service
        self.ttl_s = min(ttl_s, settings.max_token_lifetime_s)  # never above what is accepted
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
                "sub": SERVICE_PREFIX + self.service,
                "azp": self.service,
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
