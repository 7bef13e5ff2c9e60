"""etcd and kube-apiserver for ``make k8s-verify`` (:mod:`devstack.kubeapi`): built on demand
from two modules of ours, ``deploy/local/kube/{apiserver,etcd}``, never by ``make setup``."""

from __future__ import annotations

from pathlib import Path

from . import paths
from .build_steps import Step, run_steps
from .go_builds import go_build, go_version

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
    go_build(
        KUBE_APISERVER_BIN,
        "k8s.io/kubernetes/cmd/kube-apiserver",
        src=KUBE_SRC / "apiserver",
        min_go="1.26",
        flags=["-ldflags", f"-s -w {stamp}"],
    )


def _build_etcd() -> None:
    go_build(
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
            lambda: f"{go_version()} version={ETCD_VERSION}",
        ),
        Step(
            "kube-apiserver",
            [KUBE_SRC / "apiserver" / n for n in ("go.mod", "go.sum", "tools.go")],
            KUBE_APISERVER_BIN,
            _build_kube_apiserver,
            lambda: f"{go_version()} version={KUBERNETES_VERSION}",
        ),
    ]


def ensure_kube_binaries(*, force: bool = False, echo=print) -> None:
    """Build etcd and kube-apiserver unless their stamps are current."""
    run_steps(kube_steps(), force=force, echo=echo)
