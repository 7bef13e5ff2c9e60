"""What the stack's processes are told: the environment of a service's api and worker and of the
staff console, for one :class:`~devstack.profile.Profile` (its addresses, keys, the SMS sink's
credentials for notifications), on top of ``os.environ``."""

from __future__ import annotations

import os

from . import paths
from .profile import (
    CONSOLE,
    CONSOLE_CLIENT_ID,
    CONSOLE_CLIENT_SECRET,
    CONSOLE_SESSION_IDLE_S,
    SERVICES,
    SMS_ACCOUNT_SID,
    SMS_AUTH_TOKEN,
    SMS_FROM,
    Profile,
    check_service,
)


def _env_var_prefix(service: str) -> str:
    return service.replace("-", "_").upper()


def service_env(profile: Profile, service: str, kind: str = "api") -> dict[str, str]:
    """Environment of a service's process (``kind``: api or worker): ``os.environ`` plus the
    stack's addresses. Creates the process's own ``PROMETHEUS_MULTIPROC_DIR``: the api and the
    worker each export only their own series, as in Kubernetes (one directory per pod). A
    shared one made both export every series of both (each scrape reading twice the files, and
    a sum over instances counting the worker's gauges and the api's requests twice)."""
    check_service(service)
    metrics_dir = profile.metrics_dir(service) / kind
    metrics_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(
        {
            "SERVICE_NAME": service,
            "MONGODB_URI": profile.mongodb_uri,
            "KAFKA_BOOTSTRAP_SERVERS": profile.kafka_bootstrap,
            "AUTH_PUBLIC_KEY_FILE": str(profile.jwt_public_key_file),
            "AUTH_SIGNING_KEY_FILE": str(profile.jwt_private_key_file),
            # Locally the services trust two issuers: the dev key above (`make token`, the
            # services' own tokens) and Keycloak's realm, by its JWKS (the console's
            # sign-in). Production sets neither of these two (docs/configuration.md).
            "AUTH_EXTRA_ISSUER": profile.keycloak_issuer,
            "AUTH_EXTRA_JWKS_URL": profile.keycloak_jwks_url,
            # The dev key's tokens keep their roles and sites (scripts, tests); Keycloak's
            # get site roles from the staff directory, as the identity provider's do in
            # production (which sets neither, so: directory).
            "AUTH_SITE_ROLES_FROM": "token",
            "AUTH_EXTRA_SITE_ROLES_FROM": "directory",
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
            "SMTP_HOST": profile.smtp_host,
            "SMTP_PORT": str(profile.smtp_port),
            "WORKER_METRICS_PORT": str(profile.worker_metrics_port(service)),
            "LOG_FORMAT": "json",
            "PYTHONUNBUFFERED": "1",
        }
    )
    key_file = paths.FIELD_KEYS.get(service)  # the services that hold client health data
    if key_file is not None:
        if not key_file.is_file():
            from devstack.tokens import ensure_field_key

            ensure_field_key(key_file)
        env["FIELD_ENCRYPTION_KEY"] = key_file.read_text().strip()
    if service == "notifications":
        env.update(
            {
                "SMS_BASE_URL": profile.sms_url,
                "SMS_ACCOUNT_SID": SMS_ACCOUNT_SID,
                "SMS_AUTH_TOKEN": SMS_AUTH_TOKEN,
                "SMS_FROM": SMS_FROM,
                "SMTP_SECURITY": "plain",  # Mailpit, on this machine: no TLS to verify
            }
        )
    for other in SERVICES:
        env[f"{_env_var_prefix(other)}_URL"] = profile.api_url(other)
    return env


def console_env(profile: Profile) -> dict[str, str]:
    """Environment of the console (services/console): ``os.environ`` plus its OIDC client
    at the profile's Keycloak, its address, its session key and the services' addresses."""
    from devstack.tokens import ensure_console_secret_key

    ensure_console_secret_key()
    env = dict(os.environ)
    env.update(
        {
            "SERVICE_NAME": CONSOLE,
            "OIDC_ISSUER": profile.keycloak_issuer,
            "OIDC_CLIENT_ID": CONSOLE_CLIENT_ID,
            "OIDC_CLIENT_SECRET": CONSOLE_CLIENT_SECRET,
            "CONSOLE_BASE_URL": profile.console_url,
            "CONSOLE_SECRET_KEY_FILE": str(paths.CONSOLE_SECRET_KEY),
            "CONSOLE_SESSION_IDLE_S": str(CONSOLE_SESSION_IDLE_S),
            # The ops page's charts and alerts (the browser never talks to these).
            "PROMETHEUS_URL": profile.prometheus_url,
            "ALERTMANAGER_URL": profile.alertmanager_url,
            "MONGODB_URI": profile.mongodb_uri,
            "LOG_FORMAT": "json",
            "PYTHONUNBUFFERED": "1",
        }
    )
    for other in SERVICES:
        env[f"{_env_var_prefix(other)}_URL"] = profile.api_url(other)
    return env
