"""Real sign-in locally: the stack's Keycloak issues tokens for the dev users that the services
accept (they trust its realm by JWKS beside the dev key), with the roles each holds at each
site in the platform's staff directory (not the token's claims); the console's client takes
the authorization code flow with PKCE only, back to the console on this machine."""

from __future__ import annotations

import html
import re
import uuid

import jwt
import pytest
import requests

from support import Api, wait_until

#: The password-grant client of the dev realm (tests only: no browser needed).
TEST_CLIENT = "dbt-tests"


def _sign_in(profile, user: str) -> dict:
    response = requests.post(
        profile.keycloak_token_url,
        data={
            "grant_type": "password",
            "client_id": TEST_CLIENT,
            "username": user,
            "password": user,
            "scope": "openid",
        },
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def stack(platform, keycloak):
    return platform


def test_carla_signed_in_at_keycloak_works_on_her_sites_only(stack, tokens):
    profile = stack.profile
    token = _sign_in(profile, "carla")["access_token"]
    intake = Api(profile.api_url("intake"), token)
    # Her sites are the staff directory's (intake's /v1/staff), not her token's claims.
    operator = intake.as_(tokens.operator())
    site = operator.post(
        "/v1/sites",
        json={"name": "North", "timezone": "Europe/London", "intake_email": "n@t.example"},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert site.status_code == 201, site.text
    site_north = site.json()["id"]
    carla = jwt.decode(token, options={"verify_signature": False})["sub"]
    given = operator.put(
        f"/v1/staff/{carla}",
        json={
            "display_name": "Carla",
            "memberships": [{"site_id": site_north, "roles": ["coordinator"]}],
        },
    )
    assert given.status_code in (200, 201), given.text

    def her_site_answers():
        answer = intake.get("/v1/referrals", params={"site_id": site_north})
        return answer if answer.status_code == 200 else None

    on_her_site = wait_until(
        her_site_answers, timeout=30, what="intake applies carla's membership (staff.changed)"
    )
    assert on_her_site.status_code == 200, on_her_site.text

    # Each api worker process keeps its own copy of the directory (a 2 s cache): one that has
    # not seen her membership yet says 403 (no coordinator role anywhere), never 200.
    def elsewhere_refused():
        answer = intake.get("/v1/referrals", params={"site_id": "site-elsewhere"})
        return [answer] if answer.status_code != 403 else None  # a 404 Response is falsy

    [elsewhere] = wait_until(
        elsewhere_refused, timeout=30, what="every intake worker knows carla's membership"
    )
    assert elsewhere.status_code == 404, elsewhere.text


def test_a_wrong_password_gets_no_token(stack):
    response = requests.post(
        stack.profile.keycloak_token_url,
        data={
            "grant_type": "password",
            "client_id": TEST_CLIENT,
            "username": "carla",
            "password": "not-carla",
        },
        timeout=30,
    )
    assert response.status_code == 401
    assert "access_token" not in response.text


def _authorize(profile, redirect_uri: str, **extra) -> requests.Response:
    params = {
        "client_id": "dbt-console",
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": "openid",
        "state": "state-1",
        **extra,
    }
    return requests.get(
        f"{profile.keycloak_issuer}/protocol/openid-connect/auth",
        params=params,
        allow_redirects=False,
        timeout=30,
    )


def test_the_console_client_signs_in_back_to_the_console_with_pkce_only(stack):
    profile = stack.profile
    callback = f"{profile.console_url}/auth/callback"
    pkce = {"code_challenge": "A" * 43, "code_challenge_method": "S256"}
    login_page = _authorize(profile, callback, **pkce)
    assert login_page.status_code == 200 and 'name="username"' in login_page.text
    # The code never goes anywhere but the console on this machine.
    assert (
        _authorize(profile, "http://console.example.org/auth/callback", **pkce).status_code == 400
    )
    # Without PKCE the request goes back to the console as an error, never to a login page.
    without_pkce = _authorize(profile, callback)
    assert without_pkce.status_code == 302
    assert without_pkce.headers["Location"].startswith(callback + "?error=invalid_request")


def test_the_stacks_console_signs_carla_in_through_keycloak(console):
    """The devstack console process and the realm agree (issuer, client, secret, redirect,
    PKCE): a sign-in ends on a console page as carla, with only the console's cookie."""
    profile = console.profile
    browser = requests.Session()
    login = browser.get(f"{profile.console_url}/auth/sign-in", timeout=90)
    assert login.status_code == 200 and login.url.startswith(profile.keycloak_issuer)
    # A browser sends Keycloak's Secure cookies to 127.0.0.1 over plain http (a trustworthy
    # origin); Python's cookie jar does not, so they are sent here as a browser would.
    for cookie in browser.cookies:
        cookie.secure = False
    action = re.search(r'<form[^>]*id="kc-form-login"[^>]*action="([^"]+)"', login.text)
    assert action is not None, login.text[:500]
    signed_in = browser.post(
        html.unescape(action.group(1)),
        data={"username": "carla", "password": "carla"},
        timeout=90,
    )
    assert signed_in.url.startswith(profile.console_url + "/"), signed_in.url
    assert signed_in.history and signed_in.history[-1].status_code in (302, 303)
    console_cookies = [c for c in browser.cookies if c.port in (None, str(profile.console_port))]
    assert "dbt_console" in {c.name for c in console_cookies}
    me = browser.get(f"{profile.console_url}/", timeout=30)
    assert me.status_code in (200, 403)  # her pages (or none yet); signed in either way
    assert "Carla" in me.text
