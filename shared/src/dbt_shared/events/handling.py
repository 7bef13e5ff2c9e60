"""What a service's event handlers are: ``handler(event, data, ctx)``, and ``batched`` for a
handler that takes a poll's run of records of its type in one call. The consumer runner
(``consumer``) calls them; its module re-exports these names."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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
