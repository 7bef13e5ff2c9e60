"""Field encryption of client data: unreadable at rest, bound to its record, rotatable."""

from __future__ import annotations

import base64
import json
import os

import pytest

from dbt_shared.config import ConfigError
from dbt_shared.protection import DecryptionError, FieldCipher
from support import referral_body


def key() -> bytes:
    return os.urandom(32)


def test_round_trip_and_nothing_readable_in_the_stored_form():
    cipher = FieldCipher(key())
    sealed = cipher.encrypt("alex@example.org", record_id="r1", field="client.email")
    assert sealed.startswith("enc:v1:")
    assert "alex" not in sealed
    assert cipher.decrypt(sealed, record_id="r1", field="client.email") == "alex@example.org"
    assert cipher.encrypt("alex@example.org", record_id="r1", field="client.email") != sealed


def test_a_value_copied_to_another_record_or_field_does_not_decrypt():
    cipher = FieldCipher(key())
    sealed = cipher.encrypt("Rivera", record_id="r1", field="client.family_name")
    with pytest.raises(DecryptionError):
        cipher.decrypt(sealed, record_id="r2", field="client.family_name")
    with pytest.raises(DecryptionError):
        cipher.decrypt(sealed, record_id="r1", field="client.given_name")


def test_old_keys_still_decrypt_after_rotation_and_new_writes_use_the_new_key():
    old, new = key(), key()
    sealed_before = FieldCipher(old).encrypt("x", record_id="r", field="f")
    rotated = FieldCipher(new, [old])
    assert rotated.decrypt(sealed_before, record_id="r", field="f") == "x"
    assert (
        rotated.encrypt("x", record_id="r", field="f").split(":")[2] != sealed_before.split(":")[2]
    )
    with pytest.raises(DecryptionError):
        FieldCipher(new).decrypt(sealed_before, record_id="r", field="f")


def test_seal_and_open_touch_only_the_secret_fields():
    cipher = FieldCipher(key())
    client = {"email": "a@b.org", "language": "es", "phone": None}
    sealed = cipher.seal(client, ("email", "phone"), record_id="r", prefix="client")
    assert sealed["language"] == "es" and sealed["phone"] is None
    assert sealed["email"].startswith("enc:v1:")
    assert cipher.open(sealed, ("email", "phone"), record_id="r", prefix="client") == client


def test_a_missing_or_malformed_key_stops_the_service_at_start(monkeypatch):
    monkeypatch.delenv("FIELD_ENCRYPTION_KEY", raising=False)
    with pytest.raises(ConfigError):
        FieldCipher.from_env()
    monkeypatch.setenv("FIELD_ENCRYPTION_KEY", base64.b64encode(b"short").decode())
    with pytest.raises(ConfigError):
        FieldCipher.from_env()


# -- intake's screenings at rest and their replays ---------------------------------------------
SELF_HARM = {
    "cssrs": [False] * 6,
    "phq9": [2, 2, 1, 1, 1, 1, 0, 0, 2],  # item 9 above zero: thoughts of self-harm
    "gad7": [1, 1, 0, 0, 1, 0, 0],
    "ders16_total": 61,
    "bsl23_mean": 1.9,
}


@pytest.fixture
def intake(api_env, clock, auth):
    from intake import bootstrap
    from intake.app import create_app

    components = bootstrap.in_memory(clock)
    app = create_app(components)  # its idempotency keeps the keys in memory
    client = app.test_client()
    operator = auth(["operator"], [], "op")
    site = client.post(
        "/v1/sites",
        json={"name": "Riverside", "timezone": "America/Chicago", "intake_email": "i@r.example"},
        headers=operator,
    ).json["id"]
    coordinator = auth(["coordinator"], [site], "coord")
    referral = client.post(
        "/v1/referrals",
        json=referral_body(site, preferred_channel="sms", language="es"),
        headers=coordinator,
    ).json["id"]
    return components, client, coordinator, referral


def test_a_screening_summary_is_sealed_at_rest_and_shown_to_its_sites_staff(intake):
    components, client, coordinator, rid = intake

    result = client.post(f"/v1/referrals/{rid}/screenings", json=SELF_HARM, headers=coordinator)

    assert result.status_code == 201 and result.json["phq9_self_harm_thoughts"] is True
    (stored,) = components.repositories.referrals.documents[rid]["screenings"]
    assert set(stored) == {"id", "completed_at", "completed_by", "summary", "answers"}
    assert stored["summary"].startswith("enc:v1:")
    kept = json.dumps(components.repositories.referrals.documents[rid], default=str)
    for plain in ("self_harm", "risk_level", "moderate", "phq9_total", "bsl23", "flags", "ders16"):
        assert plain not in kept, f"{plain} readable in the stored referral"
    (shown,) = client.get(f"/v1/referrals/{rid}", headers=coordinator).json["screenings"]
    assert shown["phq9_self_harm_thoughts"] is True and shown["risk_level"] == "moderate"
    assert shown["flags"] == ["phq9_self_harm_thoughts"] and shown["ders16_total"] == 61
    assert shown["id"] == result.json["id"] and "summary" not in shown and "answers" not in shown


def test_a_replayed_screening_is_audited_before_it_is_shown_again(intake, auth):
    components, client, coordinator, rid = intake
    key = {**coordinator, "Idempotency-Key": "screen-once"}
    first = client.post(f"/v1/referrals/{rid}/screenings", json=SELF_HARM, headers=key)
    trail = components.repositories.audit

    replay = client.post(f"/v1/referrals/{rid}/screenings", json=SELF_HARM, headers=key)

    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json == first.json
    assert trail.actions()[-2:] == [
        "referral.record_screening",
        "referral.record_screening_replayed",
    ]
    last = trail.entries[-1]
    assert last["object_id"] == rid and last["actor"] == "coord"
    assert len(components.repositories.referrals.documents[rid]["screenings"]) == 1
