"""Keycloak, the local identity provider: its JDK, its per-profile home and its command line.

The distribution (``keycloak-quarkus-dist``) is unpacked once by ``python -m devstack setup``
into ``.local/keycloak/dist``. Keycloak keeps its database (H2, ``dev-file``) and its import
directory under ``<home>/data``, and ``kc.sh`` takes ``<home>`` from its own location, so each
profile gets a home of its own (``<profile data>/keycloak/home``): a copy of ``bin/kc.sh`` and
links to the distribution's ``lib``, ``conf``, ``themes`` and ``providers``. The distribution
itself is never written at run time: setup's first ``start-dev`` (:func:`prime`) re-augments it
for development mode once, and stores the database it made with the realm imported as a
template; a profile whose data directory has no database yet (the test profile, every time)
starts from a copy of it, which skips Keycloak's schema creation and the realm import (most of
its start time).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from . import paths, ready
from .errors import StackError

REALM = "dbt"
MIN_JAVA = 21
JVM_ROOT = Path("/usr/lib/jvm")
#: Appended to kc.sh's own JVM options (heap -Xms64m -Xmx512m): C1 only starts it faster; on
#: Java 24+ JBoss threads need java.lang opened, or stopping the server throws IllegalAccessError.
JAVA_OPTS_APPEND = (
    "-XX:TieredStopAtLevel=1 -Djava.awt.headless=true --add-opens=java.base/java.lang=ALL-UNNAMED"
)
#: Development-profile bootstrap admin of the master realm (never in the test profile).
DEV_ADMIN_USER = "admin"
DEV_ADMIN_PASSWORD = "admin"
_LINKED = ("lib", "conf", "themes", "providers")
_VERSION = re.compile(r'^JAVA_VERSION="(\d+)')


def _java_major(java_home: Path) -> int | None:
    """The major version of the JDK at ``java_home`` (from its ``release`` file)."""
    if not (java_home / "bin" / "java").is_file():
        return None
    try:
        for line in (java_home / "release").read_text().splitlines():
            match = _VERSION.match(line)
            if match:
                return int(match.group(1))
    except OSError:
        return None
    return None


def java_home() -> Path:
    """A JDK of version ``MIN_JAVA`` or newer: ``KEYCLOAK_JAVA_HOME``, else ``JAVA_HOME``, else
    the newest under ``/usr/lib/jvm``. Kafka keeps using ``java`` on PATH (17 is enough)."""
    for var in ("KEYCLOAK_JAVA_HOME", "JAVA_HOME"):
        value = os.environ.get(var)
        if value and (_java_major(Path(value)) or 0) >= MIN_JAVA:
            return Path(value)
    found = []
    if JVM_ROOT.is_dir():
        for home in JVM_ROOT.iterdir():
            major = _java_major(home)
            if major is not None and major >= MIN_JAVA and not home.is_symlink():
                found.append((major, home.name, home))
    if not found:
        raise StackError(
            f"Keycloak needs a JDK {MIN_JAVA} or newer: none found under {JVM_ROOT} (nor in "
            f"KEYCLOAK_JAVA_HOME / JAVA_HOME); install one, e.g. `apt-get install "
            f"openjdk-{MIN_JAVA}-jdk-headless` or a Temurin JDK {MIN_JAVA}+",
            process="keycloak",
        )
    return max(found)[2]


def issuer(port: int) -> str:
    return f"http://127.0.0.1:{port}/realms/{REALM}"


def jwks_url(port: int) -> str:
    return f"{issuer(port)}/protocol/openid-connect/certs"


def discovery_url(port: int) -> str:
    return f"{issuer(port)}/.well-known/openid-configuration"


def token_url(port: int) -> str:
    return f"{issuer(port)}/protocol/openid-connect/token"


def is_unpacked() -> bool:
    return (paths.KEYCLOAK_DIST / "bin" / "kc.sh").is_file()


def has_template() -> bool:
    return (paths.KEYCLOAK_TEMPLATE / "h2" / "keycloakdb.mv.db").is_file()


def prepare_home(home: Path, *, fresh_database: bool) -> Path:
    """Make (or refresh) a Keycloak home at ``home``: returns the ``kc.sh`` to run. Its
    database is copied from the template unless it has one (``fresh_database``: leave it
    empty, Keycloak creates the schema and imports the realm itself)."""
    if not is_unpacked():
        raise StackError("Keycloak is not set up: run `make setup`", process="keycloak")
    (home / "bin").mkdir(parents=True, exist_ok=True)
    kc_sh = home / "bin" / "kc.sh"
    shutil.copy2(paths.KEYCLOAK_DIST / "bin" / "kc.sh", kc_sh)
    for name in _LINKED:
        link = home / name
        if link.is_symlink() or link.exists():
            if link.is_symlink() and link.resolve() == (paths.KEYCLOAK_DIST / name).resolve():
                continue
            link.unlink()
        link.symlink_to(paths.KEYCLOAK_DIST / name)
    data = home / "data"
    (data / "import").mkdir(parents=True, exist_ok=True)
    shutil.copy2(paths.KEYCLOAK_REALM_FILE, data / "import" / paths.KEYCLOAK_REALM_FILE.name)
    h2 = data / "h2"
    if not fresh_database and not (h2 / "keycloakdb.mv.db").is_file() and has_template():
        shutil.rmtree(h2, ignore_errors=True)
        shutil.copytree(paths.KEYCLOAK_TEMPLATE / "h2", h2)
    return kc_sh


def command(kc_sh: Path, port: int) -> list[str]:
    """``kc.sh start-dev`` on 127.0.0.1:``port``, the issuer fixed to that address, the realm
    file of ``data/import`` imported unless the realm exists."""
    return [
        str(kc_sh),
        "start-dev",
        "--http-host=127.0.0.1",
        f"--http-port={port}",
        f"--hostname=http://127.0.0.1:{port}",
        "--import-realm",
        "--log-console-color=false",
    ]


def environment(*, admin: bool) -> dict[str, str]:
    """Keycloak's environment: the JDK, the JVM options, and in development a bootstrap admin
    of the master realm (``KEYCLOAK_ADMIN_PASSWORD`` overrides its password)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("KC_") and k not in ("JAVA_OPTS", "JAVA_OPTS_KC_HEAP")
    }
    env["JAVA_HOME"] = str(java_home())
    env["JAVA_OPTS_APPEND"] = JAVA_OPTS_APPEND
    if admin:
        env["KC_BOOTSTRAP_ADMIN_USERNAME"] = DEV_ADMIN_USER
        env["KC_BOOTSTRAP_ADMIN_PASSWORD"] = os.environ.get(
            "KEYCLOAK_ADMIN_PASSWORD", DEV_ADMIN_PASSWORD
        )
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prime(timeout: float = 900.0) -> None:
    """Start Keycloak once in a scratch home (setup): the distribution is re-augmented for
    development mode (minutes on a busy machine, once), the realm is imported into a new
    database, which becomes the template of every profile's first start."""
    paths.KEYCLOAK_HOME.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".prime-", dir=paths.KEYCLOAK_HOME))
    log_file = scratch / "keycloak.log"
    try:
        kc_sh = prepare_home(scratch / "home", fresh_database=True)
        port = _free_port()
        with open(log_file, "wb") as log:
            proc = subprocess.Popen(
                command(kc_sh, port),
                env=environment(admin=False),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            deadline = time.monotonic() + timeout
            while not ready.http_ok(discovery_url(port)):
                if proc.poll() is not None or time.monotonic() > deadline:
                    tail = "\n".join(log_file.read_text(errors="replace").splitlines()[-30:])
                    raise StackError(
                        f"Keycloak did not start for setup ({proc.poll()}):\n{tail}",
                        process="keycloak",
                    )
                time.sleep(1)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)  # a clean stop closes the H2 database
                try:
                    proc.wait(60)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
        h2 = scratch / "home" / "data" / "h2"
        if not (h2 / "keycloakdb.mv.db").is_file():
            raise StackError(f"Keycloak left no database in {h2}", process="keycloak")
        shutil.rmtree(paths.KEYCLOAK_TEMPLATE, ignore_errors=True)
        paths.KEYCLOAK_TEMPLATE.mkdir(parents=True)
        # H2's trace file logs the statements that found the database empty: not copied.
        shutil.copytree(
            h2, paths.KEYCLOAK_TEMPLATE / "h2", ignore=shutil.ignore_patterns("*.trace.db")
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
