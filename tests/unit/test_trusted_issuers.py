"""The services trust a list of issuers (locally: the dev key and Keycloak's realm; production:
exactly one). A token's ``iss`` picks the keys that check it: a token signed with one issuer's
key that names another is refused, and so is a token from an issuer nobody trusts."""

from __future__ import annotations

import http.server
import json
import threading
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from dbt_shared.config import AuthSettings, ConfigError, Settings, TrustedIssuer
from dbt_shared.problems import Problem
from dbt_shared.tokens import TokenVerifier

DEV_ISSUER = "dbt-platform-dev"
KEYCLOAK_ISSUER = "http://127.0.0.1:18180/realms/dbt"


def _keypair() -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


DEV_PRIVATE, DEV_PUBLIC = _keypair()
KC_PRIVATE, KC_PUBLIC = _keypair()


class JwksServer:
    """The second issuer's JWKS endpoint on localhost, counting its fetches."""

    def __init__(self, public_pem: bytes) -> None:
        jwk = json.loads(
            jwt.algorithms.RSAAlgorithm.to_jwk(serialization.load_pem_public_key(public_pem))
        )
        body = json.dumps({"keys": [{**jwk, "kid": "kc-1", "use": "sig", "alg": "RS256"}]})
        self.fetches = 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.fetches += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/certs"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def jwks_server():
    server = JwksServer(KC_PUBLIC)
    yield server
    server.close()


@pytest.fixture
def verifier(tmp_path, jwks_server):
    """The local stack's arrangement: the dev key (PEM) first, Keycloak (JWKS) beside it."""
    key_file = tmp_path / "dev-public.pem"
    key_file.write_bytes(DEV_PUBLIC)
    settings = AuthSettings(
        issuer=DEV_ISSUER,
        audience="dbt-platform",
        algorithms=("RS256",),
        public_key_file=str(key_file),
        jwks_url=None,
        signing_key_file=None,
        token_url=None,
        client_id=None,
        client_secret=None,
        extra_issuers=(TrustedIssuer(KEYCLOAK_ISSUER, jwks_url=jwks_server.url),),
    )
    return TokenVerifier(settings)


def _token(issuer: str, private: bytes, sub: str = "carla", **headers) -> str:
    now = int(time.time())
    claims = {
        "sub": sub,
        "iss": issuer,
        "aud": ["dbt-platform", "account"],  # Keycloak adds its account client's audience
        "roles": ["coordinator", "offline_access"],
        "sites": ["site-north"],
        "iat": now,
        "exp": now + 300,
    }
    return jwt.encode(claims, private, algorithm="RS256", headers=headers or None)


def _refused(verifier: TokenVerifier, token: str) -> Problem:
    with pytest.raises(Problem) as caught:
        verifier.verify(token)
    assert caught.value.status == 401
    return caught.value


def test_tokens_of_both_trusted_issuers_pass_each_checked_with_its_own_keys(verifier):
    from_keycloak = verifier.verify(_token(KEYCLOAK_ISSUER, KC_PRIVATE, kid="kc-1"))
    assert from_keycloak.subject == "carla"
    assert from_keycloak.roles == frozenset({"coordinator"})  # provider-only roles dropped
    assert from_keycloak.sites == frozenset({"site-north"})
    from_dev_key = verifier.verify(_token(DEV_ISSUER, DEV_PRIVATE, sub="script"))
    assert from_dev_key.subject == "script"


def test_a_token_naming_one_issuer_but_signed_with_the_others_key_is_refused(verifier):
    # The dev key cannot mint a token that passes as Keycloak's, nor the other way round.
    _refused(verifier, _token(KEYCLOAK_ISSUER, DEV_PRIVATE, kid="kc-1"))
    _refused(verifier, _token(DEV_ISSUER, KC_PRIVATE))


def test_a_token_from_an_untrusted_issuer_is_refused_before_any_key_lookup(verifier, jwks_server):
    problem = _refused(verifier, _token("https://evil.example/realms/dbt", KC_PRIVATE, kid="kc-1"))
    assert "InvalidIssuerError" in problem.detail
    _refused(verifier, _token("", DEV_PRIVATE))
    assert jwks_server.fetches == 0  # nobody's keys were fetched for it


def _clear_auth_env(monkeypatch) -> None:
    for name in (
        "AUTH_ISSUER",
        "AUTH_JWKS_URL",
        "AUTH_PUBLIC_KEY_FILE",
        "AUTH_EXTRA_ISSUER",
        "AUTH_EXTRA_JWKS_URL",
        "AUTH_EXTRA_PUBLIC_KEY_FILE",
    ):
        monkeypatch.delenv(name, raising=False)


def test_production_configuration_trusts_exactly_one_issuer(monkeypatch):
    _clear_auth_env(monkeypatch)
    monkeypatch.setenv("AUTH_ISSUER", "https://auth.example.com/realms/dbt-platform")
    monkeypatch.setenv(
        "AUTH_JWKS_URL",
        "https://auth.example.com/realms/dbt-platform/protocol/openid-connect/certs",
    )
    trusted = Settings.from_env("intake").auth.trusted_issuers()
    assert [t.issuer for t in trusted] == ["https://auth.example.com/realms/dbt-platform"]


@pytest.mark.parametrize(
    "variables",
    [
        {"AUTH_EXTRA_ISSUER": KEYCLOAK_ISSUER},  # an issuer without keys
        {"AUTH_EXTRA_JWKS_URL": "http://127.0.0.1:1/certs"},  # keys of nobody
        {"AUTH_EXTRA_ISSUER": DEV_ISSUER, "AUTH_EXTRA_PUBLIC_KEY_FILE": "/dev/null"},
    ],
)
def test_half_an_extra_issuer_is_a_configuration_error(monkeypatch, variables):
    _clear_auth_env(monkeypatch)
    monkeypatch.setenv("AUTH_PUBLIC_KEY_FILE", "/dev/null")
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError):
        Settings.from_env("intake")


@pytest.mark.parametrize("profile_name", ["dev", "test"])
def test_the_local_stack_trusts_the_dev_key_and_its_keycloak(monkeypatch, profile_name):
    from devstack import Profile
    from devstack.environment import service_env

    profile = Profile.dev() if profile_name == "dev" else Profile.test(port_offset=7)
    _clear_auth_env(monkeypatch)
    for name, value in service_env(profile, "intake").items():
        if name.startswith("AUTH_"):
            monkeypatch.setenv(name, value)
    trusted = Settings.from_env("intake").auth.trusted_issuers()
    port = 8180 if profile_name == "dev" else 18187
    assert [(t.issuer, t.jwks_url) for t in trusted] == [
        (DEV_ISSUER, None),
        (
            f"http://127.0.0.1:{port}/realms/dbt",
            f"http://127.0.0.1:{port}/realms/dbt/protocol/openid-connect/certs",
        ),
    ]
    assert trusted[0].public_key_file == str(profile.jwt_public_key_file)
