"""Every service's ``handlers.py`` has one shape: a table of event types, each handed to a use
case in the service's ``services`` (``dbt_shared.events.handling.use_cases``), beside the shared
read models' own handlers. No handler decides or writes anything itself."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from dbt_shared import site_directory, staff_directory
from devstack import SERVICES, module_name

ROOT = Path(__file__).resolve().parents[2]
SHARED_HANDLERS = {*site_directory.HANDLERS.values(), *staff_directory.HANDLERS.values()}
ADAPTERS = ("calling.<locals>.", "calling_batches.<locals>.")


def consumed(service: str, clock) -> dict:
    package = module_name(service)
    bootstrap, handlers = (
        importlib.import_module(f"{package}.{name}") for name in ("bootstrap", "handlers")
    )
    return handlers.handlers(bootstrap.in_memory(clock))


@pytest.mark.parametrize("service", SERVICES)
def test_every_handler_hands_its_event_to_a_use_case_or_a_shared_read_model(service, clock):
    own = {
        type_: handler
        for type_, handler in consumed(service, clock).items()
        if handler not in SHARED_HANDLERS
    }
    made_otherwise = {
        type_: handler.__qualname__
        for type_, handler in own.items()
        if not handler.__qualname__.startswith(ADAPTERS)
        and not getattr(handler, "batch", handler).__qualname__.startswith(ADAPTERS)
    }
    assert not made_otherwise, f"{service}: handlers not made by the shared adapter"


@pytest.mark.parametrize("service", SERVICES)
def test_no_handlers_module_touches_storage(service):
    source = (
        ROOT / "services" / service / "src" / module_name(service) / "handlers.py"
    ).read_text()
    for storage_word in ("repositories", ".insert(", ".save(", "ctx.db", "pymongo"):
        assert storage_word not in source, f"{service}'s handlers.py writes: {storage_word}"
