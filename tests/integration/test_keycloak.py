"""Real sign-in locally: the stack's Keycloak issues tokens for the dev users that the services
accept (they trust its realm by JWKS beside the dev key), with the roles and sites of the
realm's users; the console's client takes the authorization code flow with PKCE only, back to
the console on this machine."""

from __future__ import annotations

import pytest
import requests

from support import Api

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


def test_carla_signed_in_at_keycloak_works_on_her_sites_only(stack):
    profile = stack.profile
    token = _sign_in(profile, "carla")["access_token"]
    intake = Api(profile.api_url("intake"), token)
    on_her_site = intake.get("/v1/referrals", params={"site_id": "site-north"})
    assert on_her_site.status_code == 200, on_her_site.text
    elsewhere = intake.get("/v1/referrals", params={"site_id": "site-elsewhere"})
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
