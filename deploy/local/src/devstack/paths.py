"""Where things live: the repository root, ``.local/`` and the committed build inputs."""

from __future__ import annotations

import os
import sys
import sysconfig
from pathlib import Path

_MARKER = Path("deploy") / "local" / "pyproject.toml"


def _find_root() -> Path:
    env = os.environ.get("DEVSTACK_ROOT")
    if env:
        return Path(env).resolve()
    # Editable install (uv workspace): this file is <root>/deploy/local/src/devstack/paths.py.
    for parent in Path(__file__).resolve().parents:
        if (parent / _MARKER).is_file():
            return parent
    for parent in (Path.cwd(), *Path.cwd().parents):
        if (parent / _MARKER).is_file():
            return parent
    return Path.cwd()


ROOT: Path = _find_root()
DEPLOY_DIR: Path = ROOT / "deploy" / "local"
LOCAL_DIR: Path = ROOT / ".local"
BIN_DIR: Path = LOCAL_DIR / "bin"
SECRETS_DIR: Path = LOCAL_DIR / "secrets"
STAMP_DIR: Path = LOCAL_DIR / "stamps"

FERRETDB_SRC: Path = DEPLOY_DIR / "ferretdb"
MAILPIT_SRC: Path = DEPLOY_DIR / "mailpit"
KAFKA_SRC: Path = DEPLOY_DIR / "kafka"
KEYCLOAK_SRC: Path = DEPLOY_DIR / "keycloak"
PROMETHEUS_SRC: Path = DEPLOY_DIR / "prometheus"
ALERTMANAGER_SRC: Path = DEPLOY_DIR / "alertmanager"
#: Prometheus' alert rules (also production's), the route tree, local scrape settings.
MONITORING_DIR: Path = ROOT / "deploy" / "monitoring"

FERRETDB_BIN: Path = BIN_DIR / "ferretdb"
MAILPIT_BIN: Path = BIN_DIR / "mailpit"
PROMETHEUS_BIN: Path = BIN_DIR / "prometheus"
PROMTOOL_BIN: Path = BIN_DIR / "promtool"
ALERTMANAGER_BIN: Path = BIN_DIR / "alertmanager"
AMTOOL_BIN: Path = BIN_DIR / "amtool"
KAFKA_HOME: Path = LOCAL_DIR / "kafka"
KAFKA_LIBS: Path = KAFKA_HOME / "libs"
KAFKA_FORMATTED: Path = KAFKA_HOME / "formatted"
KAFKA_PROPERTIES_TEMPLATE: Path = KAFKA_SRC / "server.properties.template"
KAFKA_LOG4J_CONFIG: Path = KAFKA_SRC / "log4j2.properties"
#: What the broker's JMX exporter agent exports (its rules).
KAFKA_METRICS_CONFIG: Path = KAFKA_SRC / "jmx-exporter.yml"
KEYCLOAK_HOME: Path = LOCAL_DIR / "keycloak"
#: The unpacked keycloak-quarkus-dist (read-only once set up: augmented for start-dev).
KEYCLOAK_DIST: Path = KEYCLOAK_HOME / "dist"
#: Keycloak's H2 database with the realm imported, copied into a profile's empty data directory.
KEYCLOAK_TEMPLATE: Path = KEYCLOAK_HOME / "template"
KEYCLOAK_REALM_FILE: Path = KEYCLOAK_SRC / "realm-dbt.json"

JWT_PRIVATE_KEY: Path = SECRETS_DIR / "jwt-dev-private.pem"
JWT_PUBLIC_KEY: Path = SECRETS_DIR / "jwt-dev-public.pem"
#: The console's session-signing key (dev and test profiles).
CONSOLE_SECRET_KEY: Path = SECRETS_DIR / "console-secret-dev.key"
#: The console's front-end packages (package.json, package-lock.json) and where setup copies
#: their built files for the console to serve (git-ignored).
CONSOLE_SRC: Path = ROOT / "services" / "console"
CONSOLE_VENDOR: Path = CONSOLE_SRC / "src" / "console" / "static" / "vendor"
# The services' Swagger UI page (dbt_shared.openapi) and, beside it, the files it loads.
SHARED_OPENAPI: Path = ROOT / "shared" / "src" / "dbt_shared" / "openapi.py"
FIELD_KEY: Path = SECRETS_DIR / "field-encryption-dev.key"  # intake's
# The services that store client health data, each with a field-encryption key of its own.
FIELD_KEYS: dict[str, Path] = {
    "intake": FIELD_KEY,
    "coaching": SECRETS_DIR / "field-encryption-coaching-dev.key",
    "skills-group": SECRETS_DIR / "field-encryption-skills-group-dev.key",
}


def venv_bin(name: str) -> Path:
    """An executable of the repository's virtualenv (``.venv/bin/<name>``).

    Falls back to the scripts directory of the running interpreter when the repo has no
    ``.venv`` (e.g. ``UV_PROJECT_ENVIRONMENT`` points elsewhere).
    """
    candidate = ROOT / ".venv" / "bin" / name
    if candidate.exists():
        return candidate
    scripts = Path(sysconfig.get_path("scripts"))
    if (scripts / name).exists():
        return scripts / name
    if name == "python":
        return Path(sys.executable)
    return candidate
