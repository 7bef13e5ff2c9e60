"""The domain packages of every service (and the console's) import no framework, broker or
database: no Flask, Kafka, MongoDB or Marshmallow (docs/service-shape.md)."""

from __future__ import annotations

import ast
from pathlib import Path

from devstack import SERVICES

ROOT = Path(__file__).resolve().parents[2]


FORBIDDEN_IN_DOMAIN = frozenset({"flask", "kafka", "pymongo", "flask_smorest", "marshmallow"})


def domain_modules() -> dict[str, list[Path]]:
    """Every module of each service's domain (a ``domain/`` package or a ``domain.py``)."""
    found: dict[str, list[Path]] = {}
    for package in sorted(ROOT.glob("services/*/src/*")):
        paths = sorted((package / "domain").rglob("*.py")) + [
            p for p in [package / "domain.py"] if p.is_file()
        ]
        if paths:
            found[package.parents[1].name] = paths
    return found


def forbidden_imports(source: str) -> list[str]:
    """The modules ``source`` imports whose top-level package the domain may not use."""
    names: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
    return [name for name in names if name.split(".")[0] in FORBIDDEN_IN_DOMAIN]


def test_the_import_check_sees_imports_anywhere_in_a_module():
    source = "import os\nfrom flask import g\ndef f():\n    import pymongo.errors\n"
    assert forbidden_imports(source) == ["flask", "pymongo.errors"]


def test_domain_code_imports_no_framework_broker_or_database():
    modules = domain_modules()
    # The console has a domain of its own too (no process of the shape; services/console/).
    assert set(modules) == {*SERVICES, "console"}, f"services with a domain: {sorted(modules)}"
    offenders = {
        str(path.relative_to(ROOT)): found
        for paths in modules.values()
        for path in paths
        if (found := forbidden_imports(path.read_text()))
    }
    assert not offenders, f"domain code imports {offenders}"
