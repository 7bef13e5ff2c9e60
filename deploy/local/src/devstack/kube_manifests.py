"""The Kubernetes manifests ``make k8s-verify`` applies: every overlay under
``deploy/k8s/overlays`` rendered by ``kubectl kustomize``, and ``prod`` with each optional
component added (``prod+<component>``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from . import paths
from .errors import StackError

K8S_DIR: Path = paths.ROOT / "deploy" / "k8s"
OVERLAYS_DIR: Path = K8S_DIR / "overlays"
COMPONENTS_DIR: Path = K8S_DIR / "components"
#: Opt-in components no overlay lists (an operator adds them to its own overlay): each is also
#: applied on top of ``prod``, as ``prod+<component>``, so its objects are checked too.
OPTIONAL_COMPONENTS: tuple[str, ...] = ("keda",)


def kubectl_path() -> str:
    found = shutil.which("kubectl")
    if not found:
        raise StackError("`kubectl` not found on PATH: install Debian's kubectl (.ci/run does)")
    return found


def overlays() -> list[str]:
    """Every overlay under deploy/k8s/overlays, and prod with each optional component."""
    names = sorted(p.name for p in OVERLAYS_DIR.iterdir() if (p / "kustomization.yaml").is_file())
    if "prod" in names:
        names += [f"prod+{c}" for c in OPTIONAL_COMPONENTS if (COMPONENTS_DIR / c).is_dir()]
    return names


def render(name: str) -> str:
    """``kubectl kustomize`` of an overlay; ``<overlay>+<component>`` renders the overlay with
    that component added (a kustomization of our own, in a temporary directory)."""
    overlay, _, component = name.partition("+")
    if not component:
        return _kustomize(OVERLAYS_DIR / overlay)
    with tempfile.TemporaryDirectory(prefix="k8s-verify-") as tmp:
        # kustomize loads other kustomization directories by relative path from anywhere.
        base = os.path.relpath(OVERLAYS_DIR / overlay, tmp)
        comp = os.path.relpath(COMPONENTS_DIR / component, tmp)
        Path(tmp, "kustomization.yaml").write_text(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
            f"resources:\n  - {base}\ncomponents:\n  - {comp}\n"
        )
        return _kustomize(Path(tmp))


def _kustomize(path: Path) -> str:
    result = subprocess.run(
        [kubectl_path(), "kustomize", str(path)], capture_output=True, text=True, timeout=120
    )
    if result.returncode != 0:
        raise StackError(f"kubectl kustomize {path} failed:\n{result.stderr.strip()}")
    return result.stdout
