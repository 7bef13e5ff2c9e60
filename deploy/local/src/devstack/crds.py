"""The CustomResourceDefinitions the Kubernetes manifests (``deploy/k8s``) rely on, taken from
the operators' own published artifacts at the versions pinned in ``deploy/local/crds/``:

- the Prometheus Operator, KEDA, the Gateway API and the MongoDB Community Operator publish
  theirs in their Go modules (``go.mod``/``go.sum``): ``go mod download`` fetches them, nothing
  is built;
- Strimzi publishes none on Maven Central: its build regenerates them from its API classes
  (``io.strimzi:api``) with its generator (``io.strimzi:crd-generator``), and so does this step,
  with the arguments of the api module's own pom (``strimzi/pom.xml``). The generator needs a
  JDK 21 or newer (the one Keycloak runs on).

``python -m devstack setup`` (step ``crds``) writes them under ``.local/crds/<source>/``; the
manifests' unit test validates every custom resource against them, and ``make k8s-verify``
installs the same files into its API server (:func:`crd_files`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import paths
from .commands import require, run
from .errors import StackError

SRC: Path = paths.DEPLOY_DIR / "crds"
STRIMZI_POM: Path = SRC / "strimzi" / "pom.xml"
#: What setup writes: one folder per source, its CRD files as published (or generated).
CRDS_DIR: Path = paths.LOCAL_DIR / "crds"


@dataclass(frozen=True)
class GoSource:
    name: str  # the folder under .local/crds/
    module: str  # as required in deploy/local/crds/go.mod
    directory: str  # where the module keeps its CRD YAML


GO_SOURCES = (
    GoSource(
        "prometheus-operator",
        "github.com/prometheus-operator/prometheus-operator",
        "example/prometheus-operator-crd",
    ),
    GoSource("keda", "github.com/kedacore/keda/v2", "config/crd/bases"),
    GoSource("gateway-api", "sigs.k8s.io/gateway-api", "config/crd/standard"),
    GoSource("mongodb", "github.com/mongodb/mongodb-kubernetes-operator", "config/crd/bases"),
)

#: Strimzi's CRDs the manifests use: the class of each kind and its file name upstream.
STRIMZI_KINDS = {
    "io.strimzi.api.kafka.model.kafka.Kafka": "040-Crd-kafka.yaml",
    "io.strimzi.api.kafka.model.topic.KafkaTopic": "043-Crd-kafkatopic.yaml",
    "io.strimzi.api.kafka.model.nodepool.KafkaNodePool": "045-Crd-kafkanodepool.yaml",
}
#: As Strimzi's api pom runs it (execution generate-crd-co-install-v1): only the v1 API.
STRIMZI_GENERATOR_ARGS = [
    "--label",
    "app:strimzi",
    "--label",
    "strimzi.io/crd-install:true",
    "--target-kube",
    "1.16+",
    "--crd-api-version",
    "v1",
    "--api-versions",
    "v1",
    "--storage-version",
    "v1",
    "--yaml",
]

INPUTS: list[Path] = [SRC / "go.mod", SRC / "go.sum", STRIMZI_POM, Path(__file__)]


def _is_crd(path: Path) -> bool:
    # gateway-api's standard folder also holds a ValidatingAdmissionPolicy (safe upgrades).
    return re.search(r"^kind: CustomResourceDefinition\s*$", path.read_text(), re.M) is not None


def _json_stream(text: str):
    """The objects of ``go mod download -json``'s output (one after another, not a list)."""
    decoder, at, text = json.JSONDecoder(), 0, text.strip()
    while at < len(text):
        obj, at = decoder.raw_decode(text, at)
        yield obj
        while at < len(text) and text[at].isspace():
            at += 1


def _fetch_go(into: Path) -> None:
    go = require("go", "install Go >= 1.26")
    env = dict(os.environ, GOTOOLCHAIN="local", GOFLAGS="-mod=readonly")  # exactly go.sum
    out = run([go, "mod", "download", "-json"], cwd=SRC, env=env)
    dirs = {}
    for info in _json_stream(out):
        if info.get("Error"):
            raise StackError(f"go mod download {info['Path']}: {info['Error']}")
        dirs[info["Path"]] = Path(info["Dir"])
    for source in GO_SOURCES:
        found = sorted((dirs[source.module] / source.directory).glob("*.yaml"))
        target = into / source.name
        target.mkdir(parents=True)
        for path in found:
            if _is_crd(path):
                shutil.copyfile(path, target / path.name)
        if not any(target.iterdir()):
            raise StackError(f"no CRD in {source.module}/{source.directory}")


def _generate_strimzi(into: Path) -> None:
    from .keycloak import java_home  # a JDK 21+: the generator's classes need it

    mvn = require("mvn", "install Maven 3.8+ (and a JDK 17+)")
    classpath_file = into / "classpath.txt"
    run(
        [
            mvn,
            "-q",
            "-B",
            "-Dstyle.color=never",
            "-f",
            str(STRIMZI_POM),
            "dependency:build-classpath",
            f"-Dmdep.outputFile={classpath_file}",
        ]
    )
    target = into / "strimzi"
    target.mkdir(parents=True)
    run(
        [
            str(java_home() / "bin" / "java"),
            "-cp",
            classpath_file.read_text().strip(),
            "io.strimzi.crdgenerator.CrdGenerator",
            *STRIMZI_GENERATOR_ARGS,
            *[f"{cls}={target / name}" for cls, name in STRIMZI_KINDS.items()],
        ]
    )
    classpath_file.unlink()
    missing = [name for name in STRIMZI_KINDS.values() if not (target / name).is_file()]
    if missing:
        raise StackError(f"Strimzi's crd-generator wrote no {', '.join(missing)}")


def fetch() -> None:
    """The setup step: every source's CRDs into ``.local/crds/``, replaced as a whole."""
    paths.LOCAL_DIR.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".crds-", dir=paths.LOCAL_DIR))
    try:
        _fetch_go(tmp)
        _generate_strimzi(tmp)
        if CRDS_DIR.exists():
            shutil.rmtree(CRDS_DIR)
        os.replace(tmp, CRDS_DIR)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def toolchain() -> str:
    """What the step's output depends on beyond its inputs (for the setup stamp)."""
    from .keycloak import _java_major, java_home

    go = require("go", "install Go >= 1.26")
    version = run([go, "env", "GOVERSION"], env=dict(os.environ, GOTOOLCHAIN="local"))
    return f"{version.strip()} java {_java_major(java_home())}"


def crd_files() -> list[Path]:
    """Every CRD file setup fetched, sorted; raises when setup has not fetched them."""
    expected = [s.name for s in GO_SOURCES] + ["strimzi"]
    missing = [name for name in expected if not any((CRDS_DIR / name).glob("*.yaml"))]
    if missing:
        raise StackError(
            f"the CRDs of {', '.join(missing)} are missing from {CRDS_DIR}: run `make setup`"
        )
    return sorted(CRDS_DIR.glob("*/*.yaml"))
