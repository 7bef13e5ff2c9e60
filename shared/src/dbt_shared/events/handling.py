"""What a service's event handlers are: ``handler(event, data, ctx)``, and ``batched`` for a
handler that takes a poll's run of records of its type in one call. The consumer runner
(``consumer``) calls them; its module re-exports these names.

A service's ``handlers.py`` is a table handed to ``service_handlers``: each event type and the
use case (in its ``services``) that the event's decoded data is handed to, with the service's
``Components``, and the shared read models it keeps (``site_directory``, ``staff_directory``:
they bring their own handlers). A handler decides nothing and writes nothing itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pymongo.database import Database

from dbt_shared.clock import Clock
from dbt_shared.events.envelope import Event


@dataclass(frozen=True)
class HandlerContext:
    db: Database
    clock: Clock
    service: str


Handler = Callable[[Event, dict, HandlerContext], None]
"""``handler(event, data, ctx)``: ``data`` is the validated, deserialised event data."""

BatchHandler = Callable[[list[tuple[Event, dict]], HandlerContext], None]
"""``batch([(event, data), ...], ctx)``: a run of one poll's records of one type at once."""


def batched(batch: BatchHandler) -> Handler:
    """A handler that also takes a poll's records of its type in one call (``batch``), so
    that their effects are a few bulk writes instead of a few writes each.

    Its effects must be keyed on each event (``dedup_key``-derived ids, written with
    ``insert_many(ordered=False)`` that ignores duplicates): the consumer does not look each
    record up in ``processed_events`` first, so a record handled before (a redelivery after a
    crash) is written again and must change nothing.
    """

    def one(event: Event, data: dict, ctx: HandlerContext) -> None:
        batch([(event, data)], ctx)

    one.batch = batch  # type: ignore[attr-defined]
    return one


UseCase = Callable[[dict, Any], None]
"""``use_case(data, components)``: one event's decoded data, and the service's components."""

BatchUseCase = Callable[[list[tuple[Event, dict]], Any], None]
"""``use_case([(event, data), ...], components)``: a poll's run of one type (see ``batched``)."""


def calling(use_case: UseCase, components: Any) -> Handler:
    """The handler that hands an event's data to ``use_case`` with the service's components."""

    def handle(_event: Event, data: dict, _ctx: HandlerContext) -> None:
        use_case(data, components)

    return handle


def calling_batches(use_case: BatchUseCase, components: Any) -> Handler:
    """The handler that hands a poll's run of its type to ``use_case`` (whose writes are keyed
    on each event: ``batched``)."""

    def handle(batch: list[tuple[Event, dict]], _ctx: HandlerContext) -> None:
        use_case(batch, components)

    return batched(handle)


def service_handlers(
    components: Any,
    read_models: tuple[Any, ...] = (),
    use_cases: dict[str, UseCase] | None = None,
    batch_use_cases: dict[str, BatchUseCase] | None = None,
) -> dict[str, Handler]:
    """A service's worker handlers: the shared read models' own (``read_models``: modules with
    a ``HANDLERS`` table, ``site_directory`` and ``staff_directory``), and each event type of
    ``use_cases`` (``batch_use_cases``) handed to its use case with ``components``."""
    handlers: dict[str, Handler] = {}
    for read_model in read_models:
        handlers.update(read_model.HANDLERS)
    for type_, use_case in (use_cases or {}).items():
        handlers[type_] = calling(use_case, components)
    for type_, use_case in (batch_use_cases or {}).items():
        handlers[type_] = calling_batches(use_case, components)
    return handlers
