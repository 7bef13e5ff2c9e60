"""The transactional outbox without transactions: intents, the document as commit record, and
an immediate hand-off.

FerretDB and a lone MongoDB have no multi-document transactions, so an event cannot be written
atomically with a state change *and* into a queue. Instead (``storage.documents`` does this
for every save):

1. **intent**: before the state write, one small document per event goes into
   ``outbox_intents`` (``_id`` = event id, the collection and document it belongs to, the event);
2. **commit record**: the state write itself carries the events (``_outbox`` in the document, one
   single-document write), so the state change and its events land together or not at all;
3. **hand-off** (:mod:`dbt_shared.events.hand_off`): right after the write succeeds the process
   gives the events to the broker and deletes their intents once the broker has acknowledged
   them;
4. **relay** (in the worker, :mod:`dbt_shared.events.relay`): sweeps what the hand-off missed.
   It reads only the intents, the work in flight, never the state collections: an intent whose
   document holds its event is published and deleted; so is one that the document's recent
   history no longer reaches (the document keeps its last ``KEEP_IN_DOCUMENT`` events, and more
   were written after it: a long broker outage); an intent whose document does not hold it
   after a grace period belongs to a write that never happened, and is dropped.
5. **parking**: an event the broker refuses for good (larger than its limit, a malformed
   record) is moved to ``outbox_parked`` with the error, counted (``dbt_outbox_parked_total``)
   and alerted on; every other event goes out. Never silently dropped, never retried by itself:
   an operator fixes and replays it (docs/operations.md).

A crash between publish and delete publishes the event again; consumers drop the repeat by
``source`` + ``id``. The relay never writes state documents (FerretDB v1 applies an update as
read-then-write, so a relay clearing events could undo a concurrent change).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, Protocol

from pymongo.database import Database
from pymongo.errors import BulkWriteError

from dbt_shared import metrics
from dbt_shared.clock import Clock
from dbt_shared.events.envelope import Event
from dbt_shared.events.records import error_text
from dbt_shared.storage.group_inserts import InsertGroups
from dbt_shared.storage.mongo import delete_ids

log = logging.getLogger(__name__)

OUTBOX_FIELD = "_outbox"
INTENTS_COLLECTION = "outbox_intents"
# Events the broker refused for good, with why: out of the relay's sweep, kept for an operator.
PARKED_COLLECTION = "outbox_parked"
# How many events a document keeps as its recent history (the commit records the relay checks).
KEEP_IN_DOCUMENT = 50


class Publisher(Protocol):
    def publish(self, events: list[Event], timeout_s: float = 30) -> None: ...


def new_document_with_events(document: dict[str, Any], events: list[Event]) -> dict[str, Any]:
    """A document to insert, carrying its events."""
    if not events:
        return dict(document)
    return {**document, OUTBOX_FIELD: [e.to_document() for e in events]}


def update_with_events(update: dict[str, Any], events: list[Event]) -> dict[str, Any]:
    """Add ``events`` to a MongoDB update document, to be applied in the same write."""
    if not events:
        return update
    merged = {op: dict(fields) for op, fields in update.items()}
    merged.setdefault("$push", {})[OUTBOX_FIELD] = {
        "$each": [e.to_document() for e in events],
        "$slice": -KEEP_IN_DOCUMENT,
    }
    return merged


def public(document: dict[str, Any] | None) -> dict[str, Any] | None:
    """The document without its outbox bookkeeping."""
    if document is None:
        return None
    return {k: v for k, v in document.items() if k != OUTBOX_FIELD}


def ensure_indexes(db: Database) -> None:
    # The relay's sweep: oldest intents first (a small collection: only what is in flight).
    db[INTENTS_COLLECTION].create_index([("created_at", 1), ("_id", 1)], name="created_at")
    # An operator's look at what is parked, oldest first (parking moves, by _id, need no more).
    db[PARKED_COLLECTION].create_index([("parked_at", 1), ("_id", 1)], name="parked_at")


def record_intents(
    db: Database,
    collection: str,
    document_id: str,
    events: Iterable[Event],
    clock: Clock,
    *,
    inserts: InsertGroups | None = None,
) -> list[str]:
    """Step 1: say, before the state write, which events it will carry."""
    return record_intents_many(db, collection, [(document_id, events)], clock, inserts=inserts)


def record_intents_many(
    db: Database,
    collection: str,
    writes: Iterable[tuple[str, Iterable[Event]]],
    clock: Clock,
    *,
    inserts: InsertGroups | None = None,
) -> list[str]:
    """``record_intents`` for several writes (document id, its events) in one insert: with the
    intents other threads of this process record meanwhile when given the process's
    ``inserts`` (a store always is), alone otherwise."""
    now = clock.now()
    intents = [
        {
            "_id": event.id,
            "collection": collection,
            "document_id": document_id,
            "event": event.to_document(),
            "created_at": now,
        }
        for document_id, events in writes
        for event in events
    ]
    if intents and inserts is not None:
        inserts.of(db[INTENTS_COLLECTION]).insert_many(intents)
    elif intents:
        db[INTENTS_COLLECTION].insert_many(intents, ordered=False)
    return [i["_id"] for i in intents]


def forget_intents(db: Database, event_ids: list[str]) -> None:
    """A write that failed before it happened leaves its intents: drop them at once."""
    delete_ids(db[INTENTS_COLLECTION], event_ids)  # index: _id


def park_intents(
    db: Database,
    intents: list[dict[str, Any]],
    errors: dict[str, BaseException],
    service: str,
    clock: Clock,
) -> None:
    """Move intents whose event the broker refuses for good (``errors``: by event id) to
    ``outbox_parked``, with why: written there first, then deleted from the sweep, so a crash
    between the two parks them again (the same ``_id``), never loses them."""
    if not intents:
        return
    now = clock.now()
    parked = [
        {
            **intent,
            "parked_at": now,
            "error_type": type(errors[intent["_id"]]).__name__,
            "error": error_text(errors[intent["_id"]]),  # sizes and codes, never the data
        }
        for intent in intents
    ]
    try:
        db[PARKED_COLLECTION].insert_many(parked, ordered=False)
    except BulkWriteError as exc:  # parked before (the hand-off and the relay both tried)
        if any(err.get("code") != 11000 for err in exc.details.get("writeErrors", [])):
            raise
    forget_intents(db, [intent["_id"] for intent in intents])
    metrics.OUTBOX_PARKED.labels(service).inc(len(intents))
    log.error(
        "events parked: the broker refuses them; see outbox_parked",
        extra={
            "count": len(intents),
            "event_types": sorted({i["event"]["type"] for i in intents}),
            "error_types": sorted({p["error_type"] for p in parked}),
        },
    )


def parked_count(db: Database, limit: int = 10_000) -> int:
    """How many events wait in ``outbox_parked`` for an operator (none, normally)."""
    command = {"query": {}, "limit": limit}  # the count command: no aggregation on FerretDB
    return int(db.command("count", PARKED_COLLECTION, **command)["n"])
