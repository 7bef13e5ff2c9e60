"""A client's details across intake's real processes: another site's coordinator sees nothing,
contact channels are for services only, nothing readable about the client sits in the database,
and every access leaves one audit record.
"""

from __future__ import annotations

import json
import uuid

import pytest
from e2e_intake_clinic import LOW_RISK, client_details, new_referral, phone_of, set_up_clinic
from pymongo import MongoClient

from support import Api


@pytest.fixture(scope="module")
def clinic(platform, tokens):
    return set_up_clinic(platform, tokens)


def test_another_sites_coordinator_sees_nothing(clinic, tokens):
    referral = new_referral(clinic)
    stranger = Api(clinic["profile"].api_url("intake"), tokens.coordinator(str(uuid.uuid4())))
    assert stranger.get(f"/v1/referrals/{referral['id']}").status_code == 404
    assert (
        stranger.post(f"/v1/referrals/{referral['id']}/screenings", json=LOW_RISK).status_code
        == 404
    )
    listed = stranger.get("/v1/referrals").json()["items"]
    assert referral["id"] not in [r["id"] for r in listed]
    assert stranger.get(f"/v1/waitlist?site_id={clinic['site_id']}").status_code == 404
    assert stranger.get(f"/v1/sites/{clinic['site_id']}").status_code == 404


def test_contact_channels_are_for_services_only(clinic, tokens):
    referral = new_referral(clinic, tag="c0ffee")
    path = f"/v1/clients/{referral['id']}/contact"
    assert clinic["coordinator"].get(path).status_code == 403
    service = Api(
        clinic["profile"].api_url("intake"), tokens.role("service", sub="service:notifications")
    )
    contact = service.get(path).json()
    assert contact["channels"] == {"email": "client.c0ffee@example.org", "sms": phone_of("c0ffee")}
    assert contact["preferred_channel"] == "sms" and contact["language"] == "es"
    assert contact["timezone"] == clinic["site_zone"]


def test_the_database_holds_no_plain_text_client_data(clinic):
    referral = (
        clinic["coordinator"]
        .post(
            "/v1/referrals",
            json={
                "site_id": clinic["site_id"],
                "program": "adult",
                "source": "self",
                "consent_to_contact": True,
                "client": client_details("beef42"),
            },
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        .json()
    )
    rid = referral["id"]
    clinic["coordinator"].post(f"/v1/referrals/{rid}/screenings", json=LOW_RISK)
    clinic["coordinator"].post(
        f"/v1/referrals/{rid}/eligibility", json={"decision": "eligible", "reason": "Quietbeef42"}
    )
    intake_db = MongoClient(clinic["profile"].mongodb_uri)["dbt_intake"]
    secrets = (
        "Givenbeef42",
        "Familybeef42",
        "client.beef42@example.org",
        phone_of("beef42"),
        "1990-02-03",
        "Quietbeef42",
    )
    for name in intake_db.list_collection_names():
        dump = json.dumps(list(intake_db[name].find()), default=str)
        for secret in secrets:
            assert secret not in dump, f"{secret} readable in intake's {name} collection"
    stored = intake_db.referrals.find_one({"_id": rid})
    assert stored["client"]["email"].startswith("enc:v1:")
    assert stored["screenings"][0]["answers"].startswith("enc:v1:"), "answers are sealed too"


def test_every_access_to_a_client_leaves_one_audit_record(clinic, tokens):
    referral = new_referral(clinic)
    rid = referral["id"]
    coordinator = clinic["coordinator"]
    coordinator.get(f"/v1/referrals/{rid}")
    coordinator.get(f"/v1/referrals/{rid}")
    coordinator.post(f"/v1/referrals/{rid}/screenings", json=LOW_RISK)
    coordinator.request(
        "PATCH", f"/v1/referrals/{rid}", json={"client": {"phone": "+1 312 555 0111"}}
    )
    trail = clinic["operator"].get(f"/v1/audit?object_id={rid}&limit=200").json()["items"]
    assert [r["action"] for r in trail] == [
        "referral.create",
        "referral.read",
        "referral.read",
        "referral.record_screening",
        "referral.update_contact",
    ]
    assert all(r["actor"] == "coord-test" and r["site_id"] == clinic["site_id"] for r in trail)
    assert all(r["request_id"] for r in trail)
    assert clinic["coordinator"].get("/v1/audit").status_code == 403
