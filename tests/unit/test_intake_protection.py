"""Field encryption of client data: unreadable at rest, bound to its record, rotatable."""

from __future__ import annotations

import base64
import os

import pytest

from dbt_shared.config import ConfigError
from dbt_shared.protection import DecryptionError, FieldCipher


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
