"""The Go programs setup builds from the Go module proxy, each from a module of ours pinning its
version (go.mod/go.sum under ``deploy/local/``): FerretDB, Mailpit, Prometheus with promtool and
Alertmanager with amtool (its web UI replaced by a placeholder page), always with the local
toolchain and exactly the committed go.sum."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from . import paths
from .build_steps import Step
from .commands import require, run
from .errors import StackError

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


_PROMETHEUS = "github.com/prometheus/prometheus"
_ALERTMANAGER = "github.com/prometheus/alertmanager"


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


def go_version() -> str:
    go = require("go", "install Go >= 1.26 (Mailpit v1.33 requires it)")
    out = subprocess.run(
        [go, "env", "GOVERSION", "GOOS", "GOARCH"],
        env=_go_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip().replace("\n", " ")


def go_build(output: Path, package: str, *, src: Path, min_go: str, flags: list[str]) -> None:
    """``go build`` one binary of a module of ours into ``output``, atomically."""
    go = require("go", f"install Go >= {min_go}")
    paths.BIN_DIR.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.tmp")
    run([go, "build", "-trimpath", *flags, "-o", str(tmp), package], cwd=src, env=_go_env())
    os.replace(tmp, output)


def _build_ferretdb() -> None:
    go_build(
        paths.FERRETDB_BIN,
        ".",
        src=paths.FERRETDB_SRC,
        min_go="1.24",
        flags=["-tags", FERRETDB_BUILD_TAGS, "-ldflags", "-s -w"],
    )


def _build_mailpit() -> None:
    version_flag = f"-X github.com/axllent/mailpit/config.Version={MAILPIT_VERSION}"
    go_build(
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
        go_build(
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
            go_build(
                paths.BIN_DIR / binary,
                f"{_ALERTMANAGER}/cmd/{binary}",
                src=src,
                min_go="1.25",
                flags=[f"-modfile={modfile}", "-ldflags", f"-s -w {version_flag}"],
            )

    return build_it


def steps() -> list[Step]:
    """FerretDB, Mailpit, then promtool and amtool before Prometheus and Alertmanager."""
    return [
        Step(
            "ferretdb",
            [paths.FERRETDB_SRC / n for n in ("go.mod", "go.sum", "main.go")],
            paths.FERRETDB_BIN,
            _build_ferretdb,
            lambda: f"{go_version()} tags={FERRETDB_BUILD_TAGS}",
        ),
        Step(
            "mailpit",
            [paths.MAILPIT_SRC / n for n in ("go.mod", "go.sum", "tools.go")],
            paths.MAILPIT_BIN,
            _build_mailpit,
            lambda: f"{go_version()} version={MAILPIT_VERSION}",
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
                    f"{go_version()} version={version} tags={tags}"
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
    ]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]
