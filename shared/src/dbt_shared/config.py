"""Configuration from the environment, the same variables for every service.

Every variable is listed in docs/configuration.md; a service adds its own with ``env``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field


class ConfigError(RuntimeError):
    pass


def env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None or value == "":
        raise ConfigError(f"environment variable {name} is required")
    return value


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"environment variable {name} must be an integer") from exc


@dataclass(frozen=True)
class TrustedIssuer:
    """An issuer whose tokens are accepted, and where its signing keys come from: the identity
    provider's JWKS (``jwks_url``), else a PEM public key (``public_key_file``)."""

    issuer: str
    public_key_file: str | None = None
    jwks_url: str | None = None
    # Where its tokens' site roles come from: ``directory`` (the platform's staff directory;
    # only the organisation-wide roles of the token count), or ``token`` (its roles and sites
    # claims: the dev key of the dev and test profiles only). ``from_env`` defaults to
    # ``directory``; settings built in code say what they mean.
    site_roles_from: str = "token"


@dataclass(frozen=True)
class AuthSettings:
    issuer: str
    audience: str
    algorithms: tuple[str, ...]
    public_key_file: str | None
    jwks_url: str | None
    # Dev only: lets a worker mint its own service tokens. Production uses client credentials.
    signing_key_file: str | None
    token_url: str | None
    client_id: str | None
    client_secret: str | None
    # A token whose lifetime (exp - iat) is above this is refused: a stolen long-lived token
    # would stay usable for days. 12 h covers a clinician's shift.
    max_token_lifetime_s: int = 12 * 3600
    # The identity provider's keys (AUTH_JWKS_URL) are fetched again after this many seconds;
    # a key id not in the set is looked up at most once a minute.
    jwks_refresh_s: int = 300
    # When a refetch fails, the last good key set is used for at most this many seconds past
    # its refresh time (the identity provider briefly down), then tokens cannot be checked (503).
    jwks_stale_s: int = 3600
    # More issuers to trust beside ``issuer``: the local stack's Keycloak next to the dev key
    # (AUTH_EXTRA_ISSUER with AUTH_EXTRA_JWKS_URL or AUTH_EXTRA_PUBLIC_KEY_FILE). Production
    # never sets them: it trusts exactly one issuer.
    extra_issuers: tuple[TrustedIssuer, ...] = ()
    # Where ``issuer``'s tokens take site roles from (AUTH_SITE_ROLES_FROM, ``TrustedIssuer``).
    site_roles_from: str = "token"

    def trusted_issuers(self) -> tuple[TrustedIssuer, ...]:
        """Every issuer whose tokens are accepted, ``issuer`` first."""
        primary = TrustedIssuer(
            self.issuer, self.public_key_file, self.jwks_url, self.site_roles_from
        )
        return (primary, *self.extra_issuers)


@dataclass(frozen=True)
class Settings:
    service: str
    mongodb_uri: str
    mongodb_database: str
    kafka_bootstrap_servers: str
    auth: AuthSettings
    log_level: str = "INFO"
    log_format: str = "json"
    worker_metrics_port: int = 9100
    metrics_dir: str | None = None
    service_urls: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, service: str) -> Settings:
        algorithms = tuple(
            a.strip() for a in os.environ.get("AUTH_ALGORITHMS", "RS256").split(",") if a.strip()
        )
        if not algorithms or any(a.lower() == "none" for a in algorithms):
            raise ConfigError("AUTH_ALGORITHMS must name real signing algorithms")
        auth = AuthSettings(
            issuer=os.environ.get("AUTH_ISSUER", "dbt-platform-dev"),
            audience=os.environ.get("AUTH_AUDIENCE", "dbt-platform"),
            algorithms=algorithms,
            public_key_file=os.environ.get("AUTH_PUBLIC_KEY_FILE") or None,
            jwks_url=os.environ.get("AUTH_JWKS_URL") or None,
            signing_key_file=os.environ.get("AUTH_SIGNING_KEY_FILE") or None,
            token_url=os.environ.get("AUTH_TOKEN_URL") or None,
            client_id=os.environ.get("SERVICE_CLIENT_ID") or None,
            client_secret=os.environ.get("SERVICE_CLIENT_SECRET") or None,
            max_token_lifetime_s=env_int("AUTH_MAX_TOKEN_LIFETIME_S", 12 * 3600),
            jwks_refresh_s=env_int("AUTH_JWKS_REFRESH_S", 300),
            jwks_stale_s=env_int("AUTH_JWKS_STALE_S", 3600),
            extra_issuers=_extra_issuers(),
            site_roles_from=_site_roles_from("AUTH_SITE_ROLES_FROM"),
        )
        if not (auth.public_key_file or auth.jwks_url):
            raise ConfigError("set AUTH_JWKS_URL (production) or AUTH_PUBLIC_KEY_FILE (dev)")
        if any(extra.issuer == auth.issuer for extra in auth.extra_issuers):
            raise ConfigError("AUTH_EXTRA_ISSUER must differ from AUTH_ISSUER")
        urls = {
            name: os.environ[var].rstrip("/")
            for name, var in (
                ("intake", "INTAKE_URL"),
                ("skills-group", "SKILLS_GROUP_URL"),
                ("coaching", "COACHING_URL"),
                ("notifications", "NOTIFICATIONS_URL"),
            )
            if os.environ.get(var)
        }
        return cls(
            service=service,
            mongodb_uri=os.environ.get("MONGODB_URI", "mongodb://127.0.0.1:27017/"),
            mongodb_database=os.environ.get("MONGODB_DATABASE", "dbt_" + service.replace("-", "_")),
            kafka_bootstrap_servers=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
            auth=auth,
            log_level=os.environ.get("LOG_LEVEL", "INFO"),
            log_format=os.environ.get("LOG_FORMAT", "json"),
            worker_metrics_port=env_int("WORKER_METRICS_PORT", 9100),
            metrics_dir=os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None,
            service_urls=urls,
        )

    def service_url(self, service: str) -> str:
        try:
            return self.service_urls[service]
        except KeyError as exc:
            var = service.upper().replace("-", "_") + "_URL"
            raise ConfigError(f"environment variable {var} is required") from exc


def _extra_issuers() -> tuple[TrustedIssuer, ...]:
    """The second trusted issuer of the local stack (dev and test profiles), if configured:
    ``AUTH_EXTRA_ISSUER`` with its keys at ``AUTH_EXTRA_JWKS_URL`` or in
    ``AUTH_EXTRA_PUBLIC_KEY_FILE``. Half a configuration is an error, never ignored."""
    issuer = os.environ.get("AUTH_EXTRA_ISSUER") or None
    jwks_url = os.environ.get("AUTH_EXTRA_JWKS_URL") or None
    key_file = os.environ.get("AUTH_EXTRA_PUBLIC_KEY_FILE") or None
    if issuer is None:
        if jwks_url or key_file:
            raise ConfigError("AUTH_EXTRA_JWKS_URL / _PUBLIC_KEY_FILE need AUTH_EXTRA_ISSUER")
        return ()
    if not (jwks_url or key_file):
        raise ConfigError(
            "AUTH_EXTRA_ISSUER needs AUTH_EXTRA_JWKS_URL or AUTH_EXTRA_PUBLIC_KEY_FILE"
        )
    return (
        TrustedIssuer(
            issuer,
            public_key_file=key_file,
            jwks_url=jwks_url,
            site_roles_from=_site_roles_from("AUTH_EXTRA_SITE_ROLES_FROM"),
        ),
    )


def _site_roles_from(name: str) -> str:
    """``directory`` unless set: a token's site claims are trusted only where a profile says so
    (the dev key, in the dev and test profiles)."""
    value = os.environ.get(name) or "directory"
    if value not in ("token", "directory"):
        raise ConfigError(f"{name} must be token or directory")
    return value
