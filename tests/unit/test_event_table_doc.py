"""The services table of ``docs/architecture.md`` says which events each service consumes and
publishes: checked against the code, so it cannot drift again (it had, by three events of the
handbook's catalog that nobody published, and by consumers added since).

Consumed: the types of the service's handler map (what its worker subscribes to). Published:
the catalog's types on the service's own topic, each of them named by the service's code (a
type in the contract that no code records would be a promise the docs make).
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from dbt_shared import contracts
from dbt_shared.contracts import CATALOG
from devstack import SERVICES, module_name

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "architecture.md"
CONTRACT_OF = {
    "intake": contracts.intake,
    "skills-group": contracts.skills,
    "coaching": contracts.coaching,
    "notifications": contracts.notifications,
}


def _names(cell: str) -> set[str]:
    """Event types as the table writes them: the first of a family in full
    (`intake.site.registered`), the next ones without the service (`program.configured`), the
    version once for the cell ("all `.v1`") or on each."""
    found, prefix = set(), ""
    for name in re.findall(r"`([a-z_][a-z0-9_.]*)`", cell):
        parts = name.split(".")
        if re.fullmatch(r"v\d+", parts[-1]):
            parts = parts[:-1]
        if len(parts) == 3:
            prefix = parts[0]
        elif len(parts) == 2 and prefix:
            parts = [prefix, *parts]
        else:
            raise AssertionError(f"not an event type: {name!r} in {cell!r}")
        found.add(".".join(parts) + ".v1")
    return found


def documented() -> dict[str, tuple[set[str], set[str]]]:
    """Per service row of the table: (consumes, publishes)."""
    rows = {}
    for line in DOC.read_text().splitlines():
        match = re.match(r"\| \*\*([a-z-]+)\*\* \|", line)
        if not match:
            continue
        cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]  # a cell may hold `GET\|PUT`
        rows[match.group(1)] = (_names(cells[-2]), _names(cells[-1]))
    return rows


def consumed(service: str, clock) -> set[str]:
    package = module_name(service)
    bootstrap, handlers = (
        importlib.import_module(f"{package}.{name}") for name in ("bootstrap", "handlers")
    )
    return set(handlers.handlers(bootstrap.in_memory(clock)))


def published(service: str) -> set[str]:
    return {t.name for t in CATALOG.types() if t.topic.owner == service}


def test_the_table_has_a_row_for_every_service():
    assert set(documented()) == set(SERVICES)


@pytest.mark.parametrize("service", SERVICES)
def test_the_table_says_what_each_service_consumes_and_publishes(service, clock):
    says_consumed, says_published = documented()[service]
    assert says_consumed == consumed(service, clock), (
        f"docs/architecture.md: what {service} consumes"
    )
    assert says_published == published(service), f"docs/architecture.md: what {service} publishes"


@pytest.mark.parametrize("service", SERVICES)
def test_every_type_a_service_owns_is_recorded_by_its_code(service):
    contract = CONTRACT_OF[service]
    package = ROOT / "services" / service / "src" / module_name(service)
    source = "\n".join(p.read_text() for p in sorted(package.rglob("*.py")))
    constants = {value: name for name, value in vars(contract).items() if isinstance(value, str)}
    unbuilt = [t for t in sorted(published(service)) if f".{constants[t]}" not in source]
    assert not unbuilt, f"no code of {service} records {unbuilt}"


def test_a_family_written_short_reads_as_its_full_names():
    cell = "`skills.session.scheduled`, `session.cancelled`, `client.waitlisted` (all `.v1`)"
    assert _names(cell) == {
        "skills.session.scheduled.v1",
        "skills.session.cancelled.v1",
        "skills.client.waitlisted.v1",
    }
    assert _names("nothing") == set()
