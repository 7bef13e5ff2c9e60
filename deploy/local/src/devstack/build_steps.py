"""A build step of ``python -m devstack setup`` (and of ``make k8s-verify``'s binaries) and its
stamp: a step runs when its output is missing or the hash of its inputs (committed files, the
toolchain version, the build command) differs from the one recorded under ``.local/stamps/``."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import paths


@dataclass
class Step:
    name: str
    inputs: Sequence[Path]
    output: Path
    build: Callable[[], None]
    extra: Callable[[], str] = lambda: ""


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
