"""Field-level encryption of client data at rest (AES-256-GCM).

Names, dates of birth, contact details, free-text notes and screening answers are stored as
``enc:v1:<key id>:<base64 nonce+ciphertext>``. The document id and field name are the
associated data, so a ciphertext copied into another record or field does not decrypt.
The key comes from ``FIELD_ENCRYPTION_KEY`` (base64 of 32 bytes; a Kubernetes Secret in
production); ``FIELD_ENCRYPTION_OLD_KEYS`` (comma-separated) still decrypts after a rotation.
Keyed hashes (``keyed_hashes``: HMAC-SHA256 under a key derived from each) find equal values
without decrypting.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from dbt_shared.config import ConfigError

PREFIX = "enc:v1:"


class DecryptionError(ValueError):
    pass


def _key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


def _decode_key(text: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConfigError("FIELD_ENCRYPTION_KEY must be base64") from exc
    if len(key) != 32:
        raise ConfigError("FIELD_ENCRYPTION_KEY must decode to 32 bytes (AES-256)")
    return key


def _hash_key(key: bytes) -> bytes:
    derive = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"dbt keyed hash v1")
    return derive.derive(key)


class FieldCipher:
    def __init__(self, key: bytes, old_keys: list[bytes] | None = None) -> None:
        self._current = (_key_id(key), AESGCM(key))
        self._keys = {_key_id(k): AESGCM(k) for k in [key, *(old_keys or [])]}
        # Keys of ``keyed_hashes``, each derived from a field key (HKDF-SHA256, its own label):
        # no new secret to keep, and a value hashed under a key still in use is still found.
        self._hash_keys = [_hash_key(k) for k in [key, *(old_keys or [])]]

    @classmethod
    def from_env(cls) -> FieldCipher:
        raw = os.environ.get("FIELD_ENCRYPTION_KEY")
        if not raw:
            raise ConfigError("FIELD_ENCRYPTION_KEY is required: this service encrypts client data")
        old = [
            _decode_key(k) for k in os.environ.get("FIELD_ENCRYPTION_OLD_KEYS", "").split(",") if k
        ]
        return cls(_decode_key(raw), old)

    def encrypt(self, value: str | None, *, record_id: str, field: str) -> str | None:
        if value is None:
            return None
        key_id, aead = self._current
        nonce = os.urandom(12)
        sealed = aead.encrypt(nonce, value.encode(), f"{record_id}/{field}".encode())
        return f"{PREFIX}{key_id}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str | None, *, record_id: str, field: str) -> str | None:
        if token is None:
            return None
        if not token.startswith(PREFIX):
            raise DecryptionError(f"{field} is not encrypted")
        key_id, _, payload = token[len(PREFIX) :].partition(":")
        aead = self._keys.get(key_id)
        if aead is None:
            raise DecryptionError(f"no key {key_id} to decrypt {field}")
        raw = base64.b64decode(payload)
        try:
            return aead.decrypt(raw[:12], raw[12:], f"{record_id}/{field}".encode()).decode()
        except InvalidTag as exc:
            raise DecryptionError(f"{field} does not belong to this record") from exc

    # -- helpers for groups of fields ---------------------------------------------------------
    def seal(self, values: dict[str, Any], fields: tuple[str, ...], *, record_id: str, prefix: str):
        return {
            name: self.encrypt(values[name], record_id=record_id, field=f"{prefix}.{name}")
            if name in fields and values.get(name) is not None
            else values.get(name)
            for name in values
        }

    def open(self, values: dict[str, Any], fields: tuple[str, ...], *, record_id: str, prefix: str):
        return {
            name: self.decrypt(value, record_id=record_id, field=f"{prefix}.{name}")
            if name in fields and value is not None
            else value
            for name, value in values.items()
        }

    def keyed_hashes(self, value: str, *, purpose: str) -> list[str]:
        """HMAC-SHA256 of ``value`` under each key in use, the current key's first: a keyed
        hash stored beside sealed fields finds equal values by index equality without
        decrypting any record, and without the key says nothing (no dictionary of names and
        birth dates reverses it). ``purpose`` separates the uses of one key."""
        message = f"{purpose}\x1f{value}".encode()
        return [hmac.new(k, message, hashlib.sha256).hexdigest() for k in self._hash_keys]

    def encrypt_json(self, value: Any, *, record_id: str, field: str) -> str:
        return self.encrypt(json.dumps(value, sort_keys=True), record_id=record_id, field=field)

    def decrypt_json(self, token: str, *, record_id: str, field: str) -> Any:
        return json.loads(self.decrypt(token, record_id=record_id, field=field))


class StoredResponseSealer:
    """Seals the first responses kept for ``Idempotency-Key`` replays: they hold client data."""

    def __init__(self, cipher: FieldCipher) -> None:
        self.cipher = cipher

    def seal(self, text: str, *, record_id: str) -> str:
        return self.cipher.encrypt(text, record_id=record_id, field="idempotency.body")

    def open(self, token: str, *, record_id: str) -> str:
        return self.cipher.decrypt(token, record_id=record_id, field="idempotency.body")
