"""Every service reads like the others: the same modules under the same names, none too long,
wired the same way.

The layout is ``docs/service-shape.md``'s. A service's use cases may be a package ``services/``
(one module per aggregate) instead of one ``services.py``; anything else it needs besides
(intake's field encryption, notifications' delivery adapters) may sit next to these.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from dbt_shared.contracts import intake
from devstack import SERVICES, module_name

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("domain", "api")
MODULES = (
    "repository",
    "handlers",
    "timers",
    "events",
    "metrics",
    "bootstrap",
    "app",
    "worker",
)
GROWN = ("services", "schemas")
RETIRED = ("store.py", "api.py", "domain.py")  # replaced by repository.py, api/, domain/
MAX_MODULE_LINES = 400
MAX_API_MODULE_LINES = 250  # parse, authorise, call a service, serialise: no more
#: Beyond the services, the shared package, the local stack and the tests keep the same limit.
BEYOND_SERVICES = ("shared", "deploy", "tests")
NOT_WRITTEN_HERE = frozenset({".venv", "node_modules", "__pycache__"})  # installed or generated


def package_dir(service: str) -> Path:
    return ROOT / "services" / service / "src" / module_name(service)


def missing_parts(package: Path) -> list[str]:
    """The parts of the service shape that ``package`` lacks, and the retired ones it keeps."""
    missing = [f"{name}/" for name in PACKAGES if not (package / name / "__init__.py").is_file()]
    missing += [f"{name}.py" for name in MODULES if not (package / f"{name}.py").is_file()]
    for grown in GROWN:  # one module, or a package of one module per part when it grew
        if (
            not (package / f"{grown}.py").is_file()
            and not (package / grown / "__init__.py").is_file()
        ):
            missing.append(f"{grown}.py (or {grown}/)")
    missing += [f"{name} (retired)" for name in RETIRED if (package / name).exists()]
    return missing


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_the_modules_of_the_shape(service):
    package = package_dir(service)
    assert package.is_dir(), f"no package {package}"
    assert not missing_parts(package), f"{service}: {', '.join(missing_parts(package))}"


def test_the_layout_check_names_what_is_missing(tmp_path):
    (tmp_path / "domain").mkdir()
    (tmp_path / "domain" / "__init__.py").write_text('"""Rules."""\n')
    for name in ("repository", "handlers", "schemas", "store"):
        (tmp_path / f"{name}.py").write_text('"""A module."""\n')
    missing = missing_parts(tmp_path)
    assert "domain/" not in missing and "repository.py" not in missing
    assert {"api/", "timers.py", "bootstrap.py", "services.py (or services/)"} <= set(missing)
    assert "store.py (retired)" in missing


def longer_than(limit: int, paths: list[Path]) -> dict[str, int]:
    return {
        str(path.relative_to(ROOT)): lines
        for path in sorted(paths)
        if (lines := len(path.read_text().splitlines())) > limit
    }


def test_no_module_under_services_is_longer_than_the_limit():
    too_long = longer_than(MAX_MODULE_LINES, list((ROOT / "services").rglob("*.py")))
    assert not too_long, f"modules over {MAX_MODULE_LINES} lines: {too_long}"


def test_no_module_under_shared_deploy_or_tests_is_longer_than_the_limit():
    paths = [
        path
        for top in BEYOND_SERVICES
        for path in (ROOT / top).rglob("*.py")
        if not NOT_WRITTEN_HERE.intersection(path.relative_to(ROOT).parts)
    ]
    assert Path(__file__).resolve() in paths, "the walk must reach the tests themselves"
    too_long = longer_than(MAX_MODULE_LINES, paths)
    assert not too_long, f"modules over {MAX_MODULE_LINES} lines: {too_long}"


def test_no_api_module_is_longer_than_the_limit():
    too_long = longer_than(MAX_API_MODULE_LINES, list(ROOT.glob("services/*/src/*/api/*.py")))
    assert not too_long, f"api modules over {MAX_API_MODULE_LINES} lines: {too_long}"


@pytest.mark.parametrize("service", SERVICES)
def test_every_consumed_event_type_is_in_the_service_catalog(service, clock):
    # The worker's consumer refuses to start on a handler whose type its catalog lacks.
    package = module_name(service)
    bootstrap, events, handlers = (
        importlib.import_module(f"{package}.{name}") for name in ("bootstrap", "events", "handlers")
    )
    consumed = handlers.handlers(bootstrap.in_memory(clock))
    unknown = [name for name in consumed if not events.CATALOG.knows(name)]
    assert not unknown, f"{service} handles event types its catalog lacks: {unknown}"


@pytest.mark.parametrize("service", ["skills-group", "coaching"])
def test_the_skeletons_keep_the_site_directory_from_intake_events(service, clock):
    package = module_name(service)
    bootstrap, handlers = (
        importlib.import_module(f"{package}.{name}") for name in ("bootstrap", "handlers")
    )
    consumed = handlers.handlers(bootstrap.in_memory(clock))
    assert {intake.SITE_REGISTERED, intake.PROGRAM_CONFIGURED} <= set(consumed)
