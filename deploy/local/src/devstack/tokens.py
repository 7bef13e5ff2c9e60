"""Dev JWTs: an RSA key pair under ``.local/secrets/`` and a helper that signs RS256 tokens."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path

from . import paths

DEFAULT_AUDIENCE = "dbt-platform"
DEFAULT_ISSUER = "dbt-platform-dev"
# The services refuse a token whose lifetime is above AUTH_MAX_TOKEN_LIFETIME_S (default 12 h):
# mint nothing they would refuse.
MAX_TTL_SECONDS = 12 * 3600


def ensure_jwt_keys(
    private_key_file: Path = paths.JWT_PRIVATE_KEY,
    public_key_file: Path = paths.JWT_PUBLIC_KEY,
) -> bool:
    """Create the dev RSA key pair unless both files exist. Returns True if it made new keys."""
    if private_key_file.is_file() and public_key_file.is_file():
        return False
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PublicFormat.SubjectPublicKeyInfo,
    )
    private_key_file.parent.mkdir(parents=True, exist_ok=True)
    public_key_file.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(private_key_file, private_pem, 0o600)
    _write_atomic(public_key_file, public_pem, 0o644)
    return True


def ensure_field_key(key_file: Path = paths.FIELD_KEY) -> bool:
    """Create a dev field-encryption key (32 random bytes, base64) unless it exists."""
    if key_file.is_file():
        return False
    import base64

    key_file.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(key_file, base64.b64encode(os.urandom(32)), 0o600)
    return True


def ensure_console_secret_key(key_file: Path = paths.CONSOLE_SECRET_KEY) -> bool:
    """Create the console's dev session-signing key (32 random bytes, base64) unless it exists."""
    return ensure_field_key(key_file)


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _as_list(value: str | Iterable[str]) -> list[str]:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [str(item) for item in value]


def mint_token(
    role_list: str | Iterable[str],
    sites: str | Iterable[str],
    sub: str,
    ttl_seconds: int = 3600,
    audience: str = DEFAULT_AUDIENCE,
    issuer: str = DEFAULT_ISSUER,
    *,
    private_key_file: Path | None = None,
    extra_claims: dict | None = None,
) -> str:
    """Sign an RS256 dev JWT with ``.local/secrets/jwt-dev-private.pem`` (made if missing).

    Claims: ``sub``, ``roles`` (list), ``sites`` (list of site ids), ``iss``, ``aud``, ``iat``,
    ``exp``; a ``service`` token with subject ``service:<name>`` also gets ``azp`` = name (the
    calling service, as the services' own tokens carry it). A string for ``role_list`` or
    ``sites`` is split on commas. A negative ``ttl_seconds`` gives an already expired token;
    one above ``MAX_TTL_SECONDS`` (``AUTH_MAX_TOKEN_LIFETIME_S`` when set) is refused, as the
    services would refuse the token.
    """
    import jwt

    max_ttl = int(os.environ.get("AUTH_MAX_TOKEN_LIFETIME_S") or MAX_TTL_SECONDS)
    if int(ttl_seconds) > max_ttl:
        raise ValueError(f"a token lifetime above {max_ttl} s is refused by the services")

    if private_key_file is None:
        ensure_jwt_keys()
        private_key_file = paths.JWT_PRIVATE_KEY
    now = int(time.time())
    claims = {
        "sub": sub,
        "roles": _as_list(role_list),
        "sites": _as_list(sites),
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "exp": now + int(ttl_seconds),
    }
    if "service" in claims["roles"] and sub.startswith("service:"):
        claims["azp"] = sub.removeprefix("service:")
    if extra_claims:
        claims.update(extra_claims)
    return jwt.encode(claims, private_key_file.read_bytes(), algorithm="RS256")
