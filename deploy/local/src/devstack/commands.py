"""Running the build tools setup needs (go, mvn, npm, ...): found on PATH or a clear error, and
a failed command raised with the tail of what it printed."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from .errors import StackError


def require(tool: str, hint: str) -> str:
    """The path of ``tool`` on PATH, else a :class:`StackError` saying how to get it."""
    found = shutil.which(tool)
    if not found:
        raise StackError(f"`{tool}` not found on PATH: {hint}")
    return found


def run(cmd: Sequence[str], *, cwd: Path | None = None, env: dict | None = None) -> str:
    """Run ``cmd`` and return what it wrote to stdout; on failure raise with its last 40 lines."""
    result = subprocess.run(list(cmd), cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-40:])
        raise StackError(f"command failed ({result.returncode}): {' '.join(cmd)}\n{tail}")
    return result.stdout
