"""What a service's ``events.py`` builds its events with.

``EventBuilder(service, catalog)`` once per service: ``build(type_, key, subject, data, clock)``
is an event of that service, validated by its catalog (``envelope.new_event``). An event's data
is mostly fields of the stored document it is about, written as the contracts carry them:
``fields_of`` copies them (moments as ISO 8601 text, sequences as lists), ``iso`` writes one
moment. Which fields an event carries is each builder's own choice: that is the contract.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from dbt_shared.clock import Clock
from dbt_shared.events.catalog import Catalog
from dbt_shared.events.envelope import Event, new_event


def iso(moment: datetime | None) -> str | None:
    """A moment as event data carries it: ISO 8601 text (none stays none)."""
    return moment.isoformat() if moment is not None else None


def _carried(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return list(value)
    return value


def fields_of(document: Mapping[str, Any], *names: str, **renamed: str) -> dict[str, Any]:
    """The ``names`` of ``document`` as event data (a field it lacks: ``None``, which the
    contract refuses where it is required), and each ``renamed`` field under its new name:
    ``fields_of(request, "site_id", request_id="_id")``."""
    data = {name: _carried(document.get(name)) for name in names}
    data.update({name: _carried(document.get(field)) for name, field in renamed.items()})
    return data


class EventBuilder:
    """The events of one service, validated by its catalog."""

    def __init__(self, service: str, catalog: Catalog) -> None:
        self.service = service
        self.catalog = catalog

    def __call__(
        self, type_: str, key: str, subject: str, data: dict[str, Any], clock: Clock
    ) -> Event:
        return new_event(
            self.service,
            type_,
            key=key,
            subject=subject,
            data=data,
            clock=clock,
            catalog=self.catalog,
        )
