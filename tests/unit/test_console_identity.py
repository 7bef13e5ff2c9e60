"""The real provider adapter (Authlib's Flask client) at the console's boundary: the sign-in
redirect asks for the code flow with PKCE S256, and what it must remember (state, nonce, code
verifier) is kept in the server-side session, never in the browser. Discovery is pre-loaded,
so no provider is needed."""

from __future__ import annotations

import base64
import hashlib
import time
from urllib.parse import parse_qs, urlsplit

from console import bootstrap
from console.app import create_app
from console.identity import OidcProvider
from console.sessions import COOKIE_NAME
from console.testing import FakeServices

METADATA = {
    "issuer": "http://127.0.0.1:18180/realms/dbt",
    "authorization_endpoint": "http://127.0.0.1:18180/realms/dbt/protocol/openid-connect/auth",
    "token_endpoint": "http://127.0.0.1:18180/realms/dbt/protocol/openid-connect/token",
    "end_session_endpoint": "http://127.0.0.1:18180/realms/dbt/protocol/openid-connect/logout",
    "jwks_uri": "http://127.0.0.1:18180/realms/dbt/protocol/openid-connect/certs",
}


def app_with_real_provider(clock):
    settings = bootstrap.settings_for_tests()
    provider = OidcProvider(settings)
    wired = bootstrap.in_memory(clock, provider, FakeServices(settings.service_urls))
    app = create_app(wired)
    # discovery, as if already fetched (Authlib fetches it once, then keeps it)
    provider._client.server_metadata.update(METADATA, _loaded_at=time.time())
    return app, wired


def test_sign_in_redirects_to_the_provider_with_pkce_s256_and_keeps_the_verifier_on_the_server(
    clock,
):
    app, wired = app_with_real_provider(clock)
    client = app.test_client()
    answer = client.get("/auth/sign-in")
    assert answer.status_code == 302
    target = urlsplit(answer.headers["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == METADATA["authorization_endpoint"]
    query = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert query["response_type"] == "code" and query["client_id"] == "dbt-console"
    assert query["code_challenge_method"] == "S256"
    assert query["redirect_uri"] == "http://127.0.0.1:18000/auth/callback"
    assert "openid" in query["scope"].split()
    (record,) = wired.sessions.records.values()
    (state_data,) = [v["data"] for k, v in record["data"].items() if k.startswith("_state_")]
    verifier = state_data["code_verifier"]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    assert query["code_challenge"] == challenge.decode()
    cookie = answer.headers["Set-Cookie"]
    assert COOKIE_NAME in cookie and verifier not in cookie and query["state"] not in cookie


def test_a_provider_that_does_not_answer_gives_the_unavailable_page(clock):
    wired = bootstrap.in_memory(
        clock, None, FakeServices({}), oidc_issuer="http://127.0.0.1:9/realms/dbt"
    )
    wired.identity = OidcProvider(wired.settings)  # nothing listens on port 9
    answer = create_app(wired).test_client().get("/auth/sign-in")
    assert answer.status_code == 503
    assert b"Sign-in" in answer.data and b"Traceback" not in answer.data


def test_sign_out_goes_to_the_providers_end_session_endpoint(clock):
    app, _ = app_with_real_provider(clock)
    provider = app.extensions["console.components"].identity
    with app.test_request_context():
        url = provider.end_session_url("the-id-token", "http://127.0.0.1:18000/")
    target = urlsplit(url)
    assert f"{target.scheme}://{target.netloc}{target.path}" == METADATA["end_session_endpoint"]
    query = parse_qs(target.query)
    assert query["id_token_hint"] == ["the-id-token"]
    assert query["post_logout_redirect_uri"] == ["http://127.0.0.1:18000/"]
