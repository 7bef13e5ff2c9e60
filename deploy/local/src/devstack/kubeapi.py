"""``make k8s-verify``: every Kubernetes overlay applied, with server-side dry-run, to a real
kube-apiserver backed by a real etcd, both on loopback.

The two binaries are built from the Go module proxy at the versions pinned in
``deploy/local/kube/{apiserver,etcd}`` (:func:`devstack.kube_binaries.kube_steps`; on demand,
not by ``make setup``: a cold kube-apiserver build takes minutes). The check then

1. starts etcd and kube-apiserver under ``.local/kube/`` (``.local/kube-<offset>/`` with a
   ``DEVSTACK_PORT_OFFSET``), wiped at every run: a service-account signing key made for the run,
   secure serving on 127.0.0.1 with the self-signed certificate the server writes into its
   ``--cert-dir``, RBAC, and a static token in group ``system:masters`` for the admin client;
2. waits for ``/readyz``, installs the operators' CRDs (:func:`devstack.crds.crd_files`) and waits
   until the server serves them;
3. creates the namespaces the manifests use (the overlay's own Namespace objects, applied for
   real: their Pod Security labels then judge the workloads' pod templates);
4. renders each overlay (``kubectl kustomize``) and applies it with ``kubectl apply
   --server-side --dry-run=server`` and strict field validation: every object goes through
   decoding, defaulting, the OpenAPI/CRD schema, the registry's validation and the admission
   chain, and nothing is stored. Each object's result is printed; any refusal fails the check;
5. stops kube-apiserver, then etcd.

Pod Security warnings (``Warning: would violate PodSecurity ...``) fail the check too: the
namespace enforces ``restricted``, so such a pod template would never start.

The servers and their client are :mod:`devstack.kube_server`, the overlays and their rendering
:mod:`devstack.kube_manifests`; here are the check and ``python -m devstack.kubeapi``.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import yaml

from . import kube_binaries
from .errors import StackError
from .kube_manifests import overlays, render
from .kube_server import Applied, KubeApiServer
from .profile import port_offset_from_env


def crd_files() -> list[Path]:
    """The operators' CRDs at their pinned versions (part of the static validation's setup)."""
    from . import crds

    return list(crds.crd_files())


# -- the check ---------------------------------------------------------------------------------


@contextlib.contextmanager
def running(
    offset: int | None = None, echo: Callable[[str], None] = print
) -> Iterator[KubeApiServer]:
    """etcd and kube-apiserver built (if need be), started, with the CRDs installed."""
    kube_binaries.ensure_kube_binaries(echo=echo)
    files = crd_files()
    server = KubeApiServer(port_offset_from_env() if offset is None else offset, echo)
    with server:
        t0 = time.monotonic()
        names = server.install_crds(files)
        echo(f"[k8s-verify] {len(names)} CRDs established in {time.monotonic() - t0:.1f}s")
        yield server


def verify(
    names: Sequence[str] | None = None,
    *,
    offset: int | None = None,
    echo: Callable[[str], None] = print,
) -> list[Applied]:
    """Apply every overlay (or ``names``) with server-side dry-run; one result per overlay."""
    names = list(names or overlays())
    rendered = {name: render(name) for name in names}
    results = []
    with running(offset, echo) as server:
        docs = [d for text in rendered.values() for d in yaml.safe_load_all(text) if d]
        echo(f"[k8s-verify] namespaces: {', '.join(server.create_namespaces(docs))}")
        for name, manifests in rendered.items():
            applied = server.dry_run(name, manifests)
            echo(f"[k8s-verify] {name}: {len(applied.accepted)}/{applied.objects} accepted")
            for line in applied.output.splitlines():
                echo(f"  {line}")
            for line in applied.errors.splitlines():
                echo(f"  {line}")
            results.append(applied)
    return results


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.kubeapi", description=__doc__)
    parser.add_argument("overlay", nargs="*", help=f"default: all ({', '.join(overlays())})")
    args = parser.parse_args(argv)
    started = time.monotonic()
    # SIGTERM (make interrupted, CI timeout) unwinds like Ctrl-C, so both servers are stopped.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        results = verify(args.overlay)
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    failed = [r.name for r in results if not r.ok]
    took = time.monotonic() - started
    if failed:
        print(f"[k8s-verify] REFUSED by the server: {', '.join(failed)} ({took:.1f}s)")
        return 1
    print(
        f"[k8s-verify] every overlay accepted: {', '.join(r.name for r in results)} ({took:.1f}s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
