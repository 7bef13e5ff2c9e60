"""Who works where is the platform's own data, on the real stack: a person signed in at the
identity provider (Keycloak) gets their roles at each site from intake's staff directory, which
every service keeps from ``intake.staff.changed.v1``; the roles and sites the provider's token
claims are not trusted. An operator gives a site role through intake's API, and skills-group
admits the person; the operator removes it, and skills-group refuses them within seconds,
while their token is still valid."""

from __future__ import annotations

import uuid

import jwt
import pytest
import requests

from support import Api, wait_until

#: The password-grant client of the dev realm (tests only: no browser needed).
TEST_CLIENT = "dbt-tests"
#: A dev user of the realm no other test gives site roles to (ops; password = user name).
USER = "oscar"
#: Within this the change reaches skills-group (relay, broker, consumer, 2 s cache); far more
#: than it takes, far less than a token's lifetime.
WITHIN_S = 30.0


@pytest.fixture(scope="module")
def stack(platform, keycloak):
    return platform


def _signed_in(profile, user: str) -> str:
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
    return response.json()["access_token"]


def _status_becomes(call, wanted: int, what: str) -> None:
    wait_until(lambda: call().status_code == wanted, timeout=WITHIN_S, what=what)


def test_a_site_role_given_and_removed_in_intake_is_applied_by_skills_group(stack, tokens):
    profile = stack.profile
    operator = Api(profile.api_url("intake"), tokens.operator())
    site = operator.post(
        "/v1/sites",
        json={"name": "Staff Test", "timezone": "Europe/London", "intake_email": "s@t.example"},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert site.status_code == 201, site.text
    site_id = site.json()["id"]

    token = _signed_in(profile, USER)
    subject = jwt.decode(token, options={"verify_signature": False})["sub"]
    skills = Api(profile.api_url("skills-group"), token)

    def waitlist():
        return skills.get("/v1/waitlist", params={"site_id": site_id})

    def put(memberships: list[dict]) -> requests.Response:
        answer = operator.put(
            f"/v1/staff/{subject}",
            json={"display_name": "Oscar Olsen", "memberships": memberships},
        )
        assert answer.status_code in (200, 201), answer.text
        return answer

    put([])
    _status_becomes(waitlist, 403, "no coordinator role anywhere yet")
    put([{"site_id": site_id, "roles": ["coordinator"]}])
    _status_becomes(waitlist, 200, "skills-group admits the new coordinator")
    put([{"site_id": site_id, "roles": ["therapist"]}])
    # A therapist there now: the waitlist (operators, coordinators) is refused, the same token.
    _status_becomes(waitlist, 403, "skills-group refuses the coordinator removed from the site")

    put([{"site_id": site_id, "roles": ["coordinator"]}])
    _status_becomes(waitlist, 200, "the coordinator is back")
    deactivated = operator.post(f"/v1/staff/{subject}/deactivation")
    assert deactivated.status_code == 200 and deactivated.json()["active"] is False
    _status_becomes(waitlist, 403, "skills-group refuses the deactivated member")
    put([])  # active again, of no site: as the test found them
