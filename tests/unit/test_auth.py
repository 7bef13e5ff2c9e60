"""Token verification: only well-signed, unexpired tokens for our audience and issuer pass, and
none that lives longer than the maximum; the identity provider's keys are kept while it is
briefly down. Who acts on what: a client only on themselves, a service only where named."""

from __future__ import annotations

import http.server
import json
import threading
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from dbt_shared.auth import Principal, caller, require_roles
from dbt_shared.config import AuthSettings
from dbt_shared.errors import NotFound
from dbt_shared.problems import Problem
from dbt_shared.tokens import JwksKeys, TokenVerifier


def _keypair():
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


PRIVATE, PUBLIC = _keypair()
OTHER_PRIVATE, _ = _keypair()
ROTATED_PRIVATE, ROTATED_PUBLIC = _keypair()


def _settings(**changes) -> AuthSettings:
    base = {
        "issuer": "dbt-platform-dev",
        "audience": "dbt-platform",
        "algorithms": ("RS256",),
        "public_key_file": None,
        "jwks_url": None,
        "signing_key_file": None,
        "token_url": None,
        "client_id": None,
        "client_secret": None,
    }
    return AuthSettings(**{**base, **changes})


@pytest.fixture
def verifier(tmp_path):
    key_file = tmp_path / "public.pem"
    key_file.write_bytes(PUBLIC)
    return TokenVerifier(_settings(public_key_file=str(key_file)))


def claims(**overrides):
    now = int(time.time())
    base = {
        "sub": "user-1",
        "roles": ["coordinator"],
        "sites": ["site-a"],
        "iss": "dbt-platform-dev",
        "aud": "dbt-platform",
        "iat": now,
        "exp": now + 600,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def test_a_valid_token_gives_roles_and_sites(verifier):
    principal = verifier.verify(jwt.encode(claims(), PRIVATE, algorithm="RS256"))
    assert principal == Principal("user-1", frozenset({"coordinator"}), frozenset({"site-a"}))


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(jwt.encode(claims(), None, algorithm="none"), id="alg-none"),
        pytest.param(jwt.encode(claims(aud="someone-else"), PRIVATE, algorithm="RS256"), id="aud"),
        pytest.param(jwt.encode(claims(iss="evil"), PRIVATE, algorithm="RS256"), id="iss"),
        pytest.param(
            jwt.encode(claims(exp=int(time.time()) - 3600), PRIVATE, algorithm="RS256"),
            id="expired",
        ),
        pytest.param(jwt.encode(claims(exp=None), PRIVATE, algorithm="RS256"), id="no-exp"),
        pytest.param(jwt.encode(claims(), OTHER_PRIVATE, algorithm="RS256"), id="wrong-key"),
        pytest.param(jwt.encode(claims(), "s" * 32, algorithm="HS256"), id="hs256"),
        pytest.param("not-a-token", id="garbage"),
    ],
)
def test_bad_tokens_are_refused_with_401(verifier, token):
    with pytest.raises(Problem) as refused:
        verifier.verify(token)
    assert refused.value.status == 401


def test_operators_act_on_every_site_others_only_on_theirs():
    operator = Principal("op", frozenset({"operator"}), frozenset())
    coordinator = Principal("co", frozenset({"coordinator"}), frozenset({"a"}))
    assert operator.can_act_on_site("anything")
    assert operator.site_filter() is None
    assert coordinator.can_act_on_site("a")
    assert not coordinator.can_act_on_site("b")
    assert coordinator.site_filter() == frozenset({"a"})


def test_unknown_roles_in_a_token_grant_nothing(verifier):
    principal = verifier.verify(
        jwt.encode(claims(roles=["superuser", "therapist"]), PRIVATE, algorithm="RS256")
    )
    assert principal.roles == frozenset({"therapist"})


def test_a_list_filtered_to_one_site_stays_on_that_site_for_multi_site_staff():
    from flask import Flask, g

    from dbt_shared.auth import scope_query

    with Flask("t").test_request_context():
        g.principal = Principal("co", frozenset({"coordinator"}), frozenset({"a", "b"}))
        assert scope_query({"site_id": "a", "status": "received"}) == {
            "$and": [{"site_id": "a", "status": "received"}, {"site_id": {"$in": ["a", "b"]}}]
        }
        assert scope_query({"status": "received"}) == {
            "status": "received",
            "site_id": {"$in": ["a", "b"]},
        }
        g.principal = Principal("op", frozenset({"operator"}), frozenset())
        assert scope_query({"site_id": "a"}) == {"site_id": "a"}


# -- token lifetime ------------------------------------------------------------------------------
def test_a_token_living_longer_than_the_maximum_is_refused(verifier):
    now = int(time.time())
    long_lived = jwt.encode(claims(iat=now, exp=now + 13 * 3600), PRIVATE, algorithm="RS256")
    with pytest.raises(Problem) as refused:
        verifier.verify(long_lived)
    assert refused.value.status == 401
    assert "lifetime" in refused.value.detail
    a_shift = jwt.encode(claims(iat=now, exp=now + 12 * 3600), PRIVATE, algorithm="RS256")
    assert verifier.verify(a_shift).subject == "user-1"


def test_the_maximum_lifetime_is_a_setting(monkeypatch):
    from dbt_shared.config import Settings

    monkeypatch.setenv("AUTH_PUBLIC_KEY_FILE", "/dev/null")
    assert Settings.from_env("intake").auth.max_token_lifetime_s == 12 * 3600
    monkeypatch.setenv("AUTH_MAX_TOKEN_LIFETIME_S", "3600")
    assert Settings.from_env("intake").auth.max_token_lifetime_s == 3600


def test_dev_tokens_and_service_tokens_are_within_the_maximum_and_accepted(tmp_path):
    from dbt_shared.tokens import ServiceTokens
    from devstack import mint_token, paths
    from devstack.tokens import ensure_jwt_keys

    ensure_jwt_keys()
    settings = _settings(public_key_file=str(paths.JWT_PUBLIC_KEY))
    verifier = TokenVerifier(settings)
    person = verifier.verify(mint_token(["coordinator"], ["site-a"], "someone"))
    assert person.has_role("coordinator") and person.service_name is None
    dev_settings = _settings(
        public_key_file=str(paths.JWT_PUBLIC_KEY), signing_key_file=str(paths.JWT_PRIVATE_KEY)
    )
    service = verifier.verify(ServiceTokens(dev_settings, "notifications").token())
    assert service.is_service and service.service_name == "notifications"
    with pytest.raises(ValueError, match="lifetime"):
        mint_token(["operator"], [], "op", ttl_seconds=13 * 3600)


def test_make_token_refuses_a_lifetime_the_services_would_refuse(capsys):
    from devstack.cli import main

    assert main(["token", "--role", "operator", "--ttl", str(13 * 3600)]) == 2
    assert "lifetime" in capsys.readouterr().err
    assert main(["token", "--role", "service"]) == 2  # which service calls?
    assert main(["token", "--role", "service", "--sub", "service:notifications"]) == 0
    minted = capsys.readouterr().out.strip()
    assert jwt.decode(minted, options={"verify_signature": False})["azp"] == "notifications"


# -- who acts on what ----------------------------------------------------------------------------
def test_a_client_never_passes_a_site_check_whatever_sites_its_token_lists():
    client = Principal("client-1", frozenset({"client"}), frozenset({"a"}))
    assert not client.can_act_on_site("a")
    assert client.site_filter() == frozenset()
    assert client.is_client_self("client-1") and not client.is_client_self("client-2")
    assert client.may_see_client("client-1", "a")
    assert not client.may_see_client("client-2", "a")
    with pytest.raises(NotFound):
        client.require_client_self_or_site_staff("client-2", "a")
    facilitator = Principal("fa", frozenset({"facilitator"}), frozenset({"a"}))
    assert facilitator.may_see_client("client-2", "a")
    assert not facilitator.may_see_client("client-2", "b")
    assert not facilitator.may_see_client("client-2", None)


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        pytest.param({"sub": "service:notifications"}, "notifications", id="subject"),
        pytest.param({"sub": "client-app|42", "azp": "notifications"}, "notifications", id="azp"),
        pytest.param({"sub": "batch-job"}, None, id="names-no-service"),
    ],
)
def test_a_service_token_names_its_calling_service(verifier, extra, expected):
    principal = verifier.verify(
        jwt.encode(claims(roles=["service"], sites=[], **extra), PRIVATE, algorithm="RS256")
    )
    assert principal.service_name == expected
    # A service token that names no service grants nothing, not even site scope.
    assert principal.is_service is (expected is not None)
    assert principal.can_act_on_site("a") is (expected is not None)


def test_a_rule_admits_only_the_services_it_names():
    notifications = Principal.service("notifications")
    skills = Principal.service("skills-group")
    rule = ("coordinator", caller("notifications"))
    assert notifications.admitted_by(rule)
    assert not skills.admitted_by(rule)
    assert not Principal("co", frozenset({"therapist"}), frozenset()).admitted_by(rule)
    with pytest.raises(ValueError):
        require_roles("coordinator", "service")  # which service? a rule names each caller


# -- the identity provider's keys ----------------------------------------------------------------
class KeyServer:
    """A JWKS endpoint on localhost that can be taken down and brought back."""

    def __init__(self, *public_pems: bytes) -> None:
        self.jwks = _jwks(*public_pems)
        self.up = True
        self.fetches = 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.fetches += 1
                if not server.up:
                    self.send_error(503)
                    return
                body = json.dumps(server.jwks).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/jwks.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _jwks(*public_pems: bytes) -> dict:
    keys = []
    for index, pem in enumerate(public_pems):
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(serialization.load_pem_public_key(pem)))
        keys.append({**jwk, "kid": f"key-{index}", "use": "sig", "alg": "RS256"})
    return {"keys": keys}


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def key_server():
    server = KeyServer(PUBLIC)
    yield server
    server.close()


def _jwks_verifier(server: KeyServer, ticks: Ticks) -> TokenVerifier:
    keys = JwksKeys(server.url, refresh_s=300, stale_s=3600, clock=ticks)
    return TokenVerifier(_settings(jwks_url=server.url), jwks=keys)


def _signed(kid: str = "key-0", private=PRIVATE, **overrides) -> str:
    return jwt.encode(claims(**overrides), private, algorithm="RS256", headers={"kid": kid})


def test_jwks_keys_are_kept_and_served_stale_while_the_provider_is_down(key_server):
    ticks = Ticks()
    verifier = _jwks_verifier(key_server, ticks)
    assert verifier.verify(_signed(sub="first")).subject == "first"
    assert key_server.fetches == 1

    key_server.up = False
    ticks.now += 301  # the set is due for a refresh, which fails
    assert verifier.verify(_signed(sub="while-down")).subject == "while-down"
    assert key_server.fetches == 2
    ticks.now += 3000  # still within the stale period
    assert verifier.verify(_signed(sub="still-down")).subject == "still-down"

    ticks.now += 700  # the stale period is over: tokens cannot be checked, none let through
    with pytest.raises(Problem) as unavailable:
        verifier.verify(_signed(sub="too-late"))
    assert unavailable.value.status == 503

    key_server.up = True
    ticks.now += JwksKeys.RETRY_AFTER_FAILURE_S
    assert verifier.verify(_signed(sub="back")).subject == "back"


def test_a_provider_down_from_the_start_gives_503_not_a_pass(key_server):
    key_server.up = False
    with pytest.raises(Problem) as unavailable:
        _jwks_verifier(key_server, Ticks()).verify(_signed())
    assert unavailable.value.status == 503


def test_a_rotated_key_is_fetched_but_made_up_key_ids_do_not_hammer_the_provider(key_server):
    ticks = Ticks()
    verifier = _jwks_verifier(key_server, ticks)
    assert verifier.verify(_signed(sub="a")).subject == "a"
    key_server.jwks = _jwks(PUBLIC, ROTATED_PUBLIC)  # the provider adds a key
    ticks.now += JwksKeys.UNKNOWN_KID_INTERVAL_S
    rotated = _signed(kid="key-1", private=ROTATED_PRIVATE, sub="b")
    assert verifier.verify(rotated).subject == "b"
    fetched = key_server.fetches
    for n in range(20):
        with pytest.raises(Problem) as refused:
            verifier.verify(_signed(kid=f"made-up-{n}", sub=f"x{n}"))
        assert refused.value.status == 401
    assert key_server.fetches == fetched
