"""A clinic for the coordinator's browser tests, set up through the services' APIs as an
operator would (the operator's own pages have their browser test): a site with its adult
program, two therapists and carla as its intake coordinator; and a second site, with a
referral of its own, that carla does not work at."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import jwt
import requests

from support import Api, wait_until

#: The dev realm's users (deploy/local/keycloak/realm-dbt.json): their ids are fixed.
CARLA = "0c1e0000-0000-4000-8000-00000000000b"
#: The password-grant client of the dev realm (tests only).
TEST_CLIENT = "dbt-tests"


@dataclass
class Clinic:
    site_id: str
    site_name: str
    other_site_id: str
    other_site_name: str
    other_referral_id: str
    other_client: str  # the other site's client's name: never shown to carla
    therapists: dict[str, str]  # display name -> clinician id


def _created(response: requests.Response) -> dict:
    assert response.status_code in (200, 201), response.text
    return response.json()


def _key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def _site(operator: Api, name: str) -> str:
    site = _created(
        operator.post(
            "/v1/sites",
            json={
                "name": name,
                "timezone": "Europe/London",
                "intake_email": "intake@clinic.example.org",
                "clinical_lead": {"name": "Dr Lena Lead", "email": "lead@clinic.example.org"},
            },
            headers=_key(),
        )
    )
    _created(operator.post(f"/v1/sites/{site['id']}/programs", json={"kind": "adult"}))
    return site["id"]


def _therapist(operator: Api, site_id: str, name: str, caseload: int) -> str:
    clinician = _created(
        operator.post(
            f"/v1/sites/{site_id}/clinicians",
            json={
                "subject": f"therapist-{uuid.uuid4().hex[:12]}",
                "display_name": name,
                "roles": ["therapist"],
                "programs": ["adult"],
                "languages": ["en"],
                "caseload_limit": caseload,
            },
            headers=_key(),
        )
    )
    return clinician["id"]


def password_token(profile, user: str) -> str:
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


def give_site(operator: Api, subject: str, name: str, site_id: str, roles: list[str]) -> None:
    """Add a site's roles to a staff member's memberships, keeping the others they have."""
    found = operator.get(f"/v1/staff/{subject}")
    memberships = found.json().get("memberships", []) if found.status_code == 200 else []
    memberships = [m for m in memberships if m["site_id"] != site_id]
    memberships.append({"site_id": site_id, "roles": roles})
    _created(
        operator.put(
            f"/v1/staff/{subject}", json={"display_name": name, "memberships": memberships}
        )
    )


def set_up_clinic(profile, operator_token: str) -> Clinic:
    suffix = uuid.uuid4().hex[:6]
    operator = Api(profile.api_url("intake"), operator_token)
    site_name = f"Riverside {suffix}"
    other_name = f"Hilltop {suffix}"
    site_id = _site(operator, site_name)
    other_id = _site(operator, other_name)
    therapists = {
        name: _therapist(operator, site_id, name, caseload)
        for name, caseload in (("Tess Okafor", 12), ("Hugo Brandt", 12))
    }
    other_client = ("Bruno", f"Otherside{suffix}")
    other = _created(
        operator.post(
            "/v1/referrals",
            json={
                "site_id": other_id,
                "program": "adult",
                "source": "GP",
                "consent_to_contact": True,
                "client": {
                    "given_name": other_client[0],
                    "family_name": other_client[1],
                    "date_of_birth": "1990-01-01",
                    "email": "bruno@example.org",
                    "phone": "+44 20 7946 0321",
                    "preferred_channel": "email",
                    "language": "en",
                },
            },
            headers=_key(),
        )
    )
    give_site(operator, CARLA, "Carla Costa", site_id, ["coordinator"])
    # Every intake worker knows her membership before she signs in (the console reads her
    # roles at sign-in, as the services apply them).
    carla = Api(profile.api_url("intake"), password_token(profile, "carla"))
    assert jwt.decode(carla.token, options={"verify_signature": False})["sub"] == CARLA

    def all_workers_know():
        return all(
            carla.get("/v1/referrals", params={"site_id": site_id}).status_code == 200
            for _ in range(6)
        )

    wait_until(all_workers_know, timeout=30, what="intake applies carla's membership")
    return Clinic(
        site_id=site_id,
        site_name=site_name,
        other_site_id=other_id,
        other_site_name=other_name,
        other_referral_id=other["id"],
        other_client=" ".join(other_client),
        therapists=therapists,
    )


def site_of_her_own(profile, operator_token: str, what: str) -> tuple[str, str]:
    """A new site with carla as its coordinator, known to intake (her site list) and to
    notifications (its inbox) before she signs in: a test that counts what reaches a site sees
    nothing of the other tests' referrals and risk flags, which arrive on their own time."""
    operator = Api(profile.api_url("intake"), operator_token)
    name = f"{what} {uuid.uuid4().hex[:6]}"
    site_id = _site(operator, name)
    give_site(operator, CARLA, "Carla Costa", site_id, ["coordinator"])
    token = password_token(profile, "carla")
    intake = Api(profile.api_url("intake"), token)
    inbox = Api(profile.api_url("notifications"), token)

    def known():
        return all(
            intake.get("/v1/referrals", params={"site_id": site_id}).status_code == 200
            and inbox.get("/v1/inbox", params={"site_id": site_id}).status_code == 200
            for _ in range(6)
        )

    wait_until(known, timeout=30, what="intake and notifications apply carla's new site")
    return site_id, name
