"""A referral's client details in intake's use cases: received once, unreadable at rest and in
events, audited, and corrected field by field while the referral is open.
"""

# ruff: noqa: F811 (the tests take the fixtures imported from intake_clinic)
from __future__ import annotations

import json

import pytest
from intake_clinic import (  # noqa: F401
    BORN,
    EMAIL,
    GIVEN,
    OPERATOR,
    PHONE,
    SECRETS,
    clinic,
    components,
    coordinator,
    events_of,
    new_id,
    referral_body,
)

from dbt_shared.contracts import intake as contract
from dbt_shared.errors import Conflict, InvalidInput, NotFound
from intake.services import referrals


# -- receipt -----------------------------------------------------------------------------------
def test_a_received_referral_keeps_the_client_details_unreadable_at_rest(clinic):
    shown, created = referrals.receive(
        referral_body(clinic.site_id), clinic.c, clinic.coordinator, "referral-1"
    )

    assert created is True and shown["status"] == "received"
    assert shown["client"]["given_name"] == GIVEN and shown["client"]["email"] == EMAIL
    assert shown["client"]["date_of_birth"] == BORN.isoformat()
    assert shown["allowed_actions"] == ["record_screening", "withdraw"]
    stored = clinic.c.repositories.referrals.documents["referral-1"]
    dump = json.dumps(stored, default=str)
    for secret in SECRETS:
        assert secret not in dump, f"{secret} readable in the stored referral"
    assert stored["client"]["email"].startswith("enc:v1:")


def test_the_received_event_carries_ids_only(clinic):
    rid = clinic.receive()

    (received,) = events_of(clinic.c, contract.REFERRAL_RECEIVED)
    assert received.key == rid and received.subject == f"referrals/{rid}"
    assert set(received.data) == {"referral_id", "site_id", "program", "received_at"}
    assert received.data["referral_id"] == rid and received.data["site_id"] == clinic.site_id
    dump = json.dumps([e.data for e in clinic.c.repositories.referrals.events], default=str)
    assert not [secret for secret in SECRETS if secret in dump]


def test_receiving_and_reading_a_referral_is_audited(clinic):
    rid = clinic.receive()
    referrals.read(rid, clinic.c, clinic.coordinator)

    trail = [e for e in clinic.c.repositories.audit.entries if e["object_id"] == rid]
    assert sorted(e["action"] for e in trail) == ["referral.create", "referral.read"]
    assert all(e["actor"] == "coord" and e["site_id"] == clinic.site_id for e in trail)
    assert all(e["object_type"] == "referral" for e in trail)
    assert not [secret for secret in SECRETS if secret in json.dumps(trail, default=str)]


def test_a_retried_referral_is_recorded_once(clinic):
    body = referral_body(clinic.site_id)
    referrals.receive(body, clinic.c, clinic.coordinator, "referral-1")

    again, created = referrals.receive(body, clinic.c, clinic.coordinator, "referral-1")

    assert created is False and again["_id"] == "referral-1"
    assert list(clinic.c.repositories.referrals.documents) == ["referral-1"]
    assert len(events_of(clinic.c, contract.REFERRAL_RECEIVED)) == 1
    assert "referral.create_replayed" in clinic.c.repositories.audit.actions()


def test_a_referral_for_another_or_an_unknown_site_is_refused(clinic):
    with pytest.raises(NotFound):
        referrals.receive(
            referral_body(clinic.site_id), clinic.c, coordinator("elsewhere"), new_id()
        )
    with pytest.raises(InvalidInput) as unknown:
        referrals.receive(referral_body("no-such-site"), clinic.c, OPERATOR, new_id())
    assert [e["field"] for e in unknown.value.field_errors] == ["site_id"]
    assert clinic.c.repositories.referrals.documents == {}


def test_a_contact_correction_changes_only_the_fields_sent(clinic):
    rid = clinic.receive()

    corrected = referrals.correct_contact(
        rid, {"client": {"phone": "+1 312 555 0199"}}, clinic.c, clinic.coordinator
    )

    assert corrected["client"]["phone"] == "+13125550199"  # stored in E.164
    assert corrected["client"]["email"] == EMAIL and corrected["client"]["given_name"] == GIVEN
    stored = clinic.c.repositories.referrals.documents[rid]["client"]
    assert stored["phone"].startswith("enc:v1:") and "0199" not in json.dumps(stored)
    assert "referral.update_contact" in clinic.c.repositories.audit.actions()


def test_a_withdrawn_referrals_contact_details_cannot_be_changed(clinic):
    rid = clinic.receive()
    referrals.withdraw(rid, {"reason": "other", "note": None}, clinic.c, clinic.coordinator)

    with pytest.raises(Conflict):
        referrals.correct_contact(
            rid, {"client": {"phone": "+1 312 555 0199"}}, clinic.c, clinic.coordinator
        )

    assert referrals.read(rid, clinic.c, clinic.coordinator)["client"]["phone"] == PHONE
