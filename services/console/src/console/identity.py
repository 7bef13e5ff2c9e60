"""The identity provider at the console's boundary: OpenID Connect through Authlib's Flask
client (authorization code with PKCE S256, discovery from ``OIDC_ISSUER``).

``IdentityProvider`` is the whole of what the console asks of the provider, so unit tests put a
fake in its place and run everything else for real. Authlib keeps its sign-in state (state,
nonce, code verifier) in ``flask.session``, which here is the server-side session.
"""

from __future__ import annotations

from typing import Any, Protocol
from urllib.parse import urlencode

import jwt
import requests
from authlib.integrations.flask_client import OAuth
from flask import Flask, Response

from console.client import ServiceUnavailable
from console.settings import ConsoleSettings

#: How pages name the identity provider when it does not answer.
PROVIDER = "identity"


class SignInFailed(Exception):
    """The provider's answer to a sign-in could not be used (wrong state, refused code...)."""


class RefreshFailed(Exception):
    """The refresh token no longer renews the session (revoked, expired, provider down)."""


class IdentityProvider(Protocol):
    def init_app(self, app: Flask) -> None: ...

    def authorize_redirect(self, redirect_uri: str) -> Response:
        """The redirect to the provider's sign-in page."""

    def complete_sign_in(self) -> dict[str, Any]:
        """On the callback request: the token response (``access_token``, ``refresh_token``,
        ``id_token``, ``expires_at``, ``userinfo``: the id token's claims). Raises SignInFailed."""

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        """A new token response for a refresh token. Raises RefreshFailed."""

    def end_session_url(self, id_token: str | None, post_logout_redirect_uri: str) -> str:
        """Where the browser goes to end the provider's session too."""


class OidcProvider:
    """The real provider, found by discovery (``<issuer>/.well-known/openid-configuration``)."""

    NAME = "idp"

    def __init__(self, settings: ConsoleSettings) -> None:
        self.settings = settings
        self.oauth = OAuth()

    def init_app(self, app: Flask) -> None:
        self.oauth.init_app(app)
        self.oauth.register(
            self.NAME,
            client_id=self.settings.oidc_client_id,
            client_secret=self.settings.oidc_client_secret,
            server_metadata_url=self.settings.oidc_issuer + "/.well-known/openid-configuration",
            client_kwargs={
                "scope": "openid profile email",
                "code_challenge_method": "S256",
                "timeout": self.settings.service_timeout_s,
            },
        )

    @property
    def _client(self) -> Any:
        return self.oauth.create_client(self.NAME)

    def authorize_redirect(self, redirect_uri: str) -> Response:
        try:
            return self._client.authorize_redirect(redirect_uri)
        except requests.RequestException as exc:  # discovery: the provider does not answer
            raise ServiceUnavailable(PROVIDER) from exc

    def complete_sign_in(self) -> dict[str, Any]:
        try:
            return dict(self._client.authorize_access_token())
        except Exception as exc:  # Authlib's OAuthError, MismatchingStateError, requests errors
            raise SignInFailed(type(exc).__name__) from exc

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        try:
            return dict(
                self._client.fetch_access_token(
                    grant_type="refresh_token", refresh_token=refresh_token
                )
            )
        except Exception as exc:
            raise RefreshFailed(type(exc).__name__) from exc

    def end_session_url(self, id_token: str | None, post_logout_redirect_uri: str) -> str:
        try:
            metadata = self._client.load_server_metadata()
        except requests.RequestException:
            # The console's session is gone already; the provider's ends with its own timeout.
            return post_logout_redirect_uri
        endpoint = metadata.get("end_session_endpoint")
        if not endpoint:
            return post_logout_redirect_uri
        query = {
            "post_logout_redirect_uri": post_logout_redirect_uri,
            "client_id": self.settings.oidc_client_id,
        }
        if id_token:
            query["id_token_hint"] = id_token
        return f"{endpoint}?{urlencode(query)}"


def user_from(token: dict[str, Any]) -> dict[str, Any]:
    """Who signed in, for the pages: name from the id token, roles and sites from the access
    token. Shown only: every service checks the access token itself, so the console reads its
    claims without checking the signature (it came straight from the provider over TLS)."""
    info = token.get("userinfo") or {}
    try:
        claims = jwt.decode(token["access_token"], options={"verify_signature": False})
    except jwt.PyJWTError:
        claims = {}
    return {
        "sub": info.get("sub") or claims.get("sub"),
        "name": info.get("name") or info.get("preferred_username") or "Signed in",
        "roles": sorted(set(claims.get("roles") or [])),
        "sites": list(claims.get("sites") or []),
    }


#: Roles a person holds across the organisation, which the provider may assert; every other
#: role is held at a site, as the staff directory (intake's ``/v1/staff``) says.
ORGANISATION_ROLES = frozenset({"operator", "ops"})


def with_directory(user: dict[str, Any], me: dict[str, Any] | None) -> dict[str, Any]:
    """``user`` with the roles and sites the staff directory gives (``GET /v1/staff/me/roles``), as
    the services apply them: organisation-wide roles, and each site's roles. ``me`` None: the
    person is not in the directory, so only the provider's organisation-wide roles remain."""
    if me is None:
        return {
            **user,
            "roles": sorted(set(user["roles"]) & ORGANISATION_ROLES),
            "sites": [],
            "site_roles": {},
        }
    site_roles = {m["site_id"]: sorted(m.get("roles") or []) for m in me.get("memberships") or []}
    held = set(me.get("organisation_roles") or []).union(*site_roles.values())
    return {**user, "roles": sorted(held), "sites": list(site_roles), "site_roles": site_roles}


def tokens_from(token: dict[str, Any], previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the session keeps of a token response; a refresh answer without a new refresh or id
    token keeps the previous ones."""
    previous = previous or {}
    return {
        "access_token": token["access_token"],
        "refresh_token": token.get("refresh_token") or previous.get("refresh_token"),
        "id_token": token.get("id_token") or previous.get("id_token"),
        "expires_at": int(token.get("expires_at") or 0),
    }
