"""Token verification: only well-signed, unexpired tokens for our audience and issuer pass."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from dbt_shared.auth import Principal, TokenVerifier
from dbt_shared.config import AuthSettings
from dbt_shared.problems import Problem


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


@pytest.fixture
def verifier(tmp_path):
    key_file = tmp_path / "public.pem"
    key_file.write_bytes(PUBLIC)
    return TokenVerifier(
        AuthSettings(
            issuer="dbt-platform-dev",
            audience="dbt-platform",
            algorithms=("RS256",),
            public_key_file=str(key_file),
            jwks_url=None,
            signing_key_file=None,
            token_url=None,
            client_id=None,
            client_secret=None,
        )
    )


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
