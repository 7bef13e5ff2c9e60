"""The console's settings, from the environment (docs/console.md lists them)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from dbt_shared.config import ConfigError, env, env_int

#: The four services the console calls, by the names their ``*_URL`` variables give them.
SERVICE_URL_VARIABLES = {
    "intake": "INTAKE_URL",
    "skills-group": "SKILLS_GROUP_URL",
    "coaching": "COACHING_URL",
    "notifications": "NOTIFICATIONS_URL",
}

# Plain http is accepted (and the cookie sent without Secure) on these hosts only.
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


@dataclass(frozen=True)
class ConsoleSettings:
    base_url: str
    secret_key: str
    oidc_issuer: str
    oidc_client_id: str
    oidc_client_secret: str
    service_urls: dict[str, str] = field(default_factory=dict)
    # An idle session ends after this many seconds (a shared clinic computer left signed in).
    session_idle_s: int = 900
    # How long the console waits for a service before it says that service is unavailable.
    service_timeout_s: float = 5.0
    mongodb_uri: str = "mongodb://127.0.0.1:27017/"
    mongodb_database: str = "console"
    log_level: str = "INFO"
    log_format: str = "json"
    # The ops page's sources, asked by the console's server only: Prometheus' HTTP API (charts;
    # its /api/v1/alerts too when no Alertmanager is given) and Alertmanager's (alerts firing).
    prometheus_url: str = ""
    alertmanager_url: str = ""
    # Where docs/ is published (the alert rules' runbook links are paths in the repository).
    runbook_base_url: str = ""

    @property
    def secure_cookies(self) -> bool:
        """Secure cookies, unless the console is reached over plain http on this machine."""
        parts = urlsplit(self.base_url)
        return not (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS)

    @classmethod
    def from_env(cls) -> ConsoleSettings:
        base_url = env("CONSOLE_BASE_URL").rstrip("/")
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError("CONSOLE_BASE_URL must be an http(s) URL")
        if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
            raise ConfigError("CONSOLE_BASE_URL must be https except on localhost")
        urls = {
            name: os.environ[var].rstrip("/")
            for name, var in SERVICE_URL_VARIABLES.items()
            if os.environ.get(var)
        }
        return cls(
            base_url=base_url,
            secret_key=_secret_key(),
            oidc_issuer=env("OIDC_ISSUER").rstrip("/"),
            oidc_client_id=env("OIDC_CLIENT_ID"),
            oidc_client_secret=env("OIDC_CLIENT_SECRET"),
            service_urls=urls,
            session_idle_s=env_int("CONSOLE_SESSION_IDLE_S", 900),
            service_timeout_s=float(os.environ.get("CONSOLE_SERVICE_TIMEOUT_S") or 5.0),
            mongodb_uri=os.environ.get("MONGODB_URI", "mongodb://127.0.0.1:27017/"),
            mongodb_database=os.environ.get("CONSOLE_MONGODB_DATABASE", "console"),
            log_level=os.environ.get("LOG_LEVEL", "INFO"),
            log_format=os.environ.get("LOG_FORMAT", "json"),
            prometheus_url=os.environ.get("PROMETHEUS_URL", "").rstrip("/"),
            alertmanager_url=os.environ.get("ALERTMANAGER_URL", "").rstrip("/"),
            runbook_base_url=os.environ.get("RUNBOOK_BASE_URL", ""),
        )


def _secret_key() -> str:
    """``CONSOLE_SECRET_KEY`` (the key itself) or ``CONSOLE_SECRET_KEY_FILE`` (a file holding
    it, as made by ``make setup`` under .local/secrets)."""
    value = os.environ.get("CONSOLE_SECRET_KEY", "")
    path = os.environ.get("CONSOLE_SECRET_KEY_FILE", "")
    if not value and path:
        value = Path(path).read_text().strip()
    if len(value) < 32:
        raise ConfigError("CONSOLE_SECRET_KEY (or _FILE) must hold at least 32 characters")
    return value
