"""The transactional outbox without transactions.

An event is stored inside the very document whose change caused it, in the same single-document
write (``insert_one`` of a new document, or ``update_one`` with ``$push``), so the state change and
the event are recorded together or not at all: FerretDB and a lone MongoDB have no
multi-document transactions. The relay (in the worker) publishes pending events in order and then
removes exactly those entries. A crash after the publish and before the removal publishes the
event again; consumers drop the repeat by ``source`` + ``id``.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from pymongo.collection import Collection
from pymongo.database import Database

from dbt_shared import metrics
from dbt_shared.events.envelope import Event
from dbt_shared.events.publisher import EventPublisher

log = logging.getLogger(__name__)

OUTBOX_FIELD = "_outbox"
PENDING_FIELD = "_outbox_pending"


def new_document_with_events(document: dict[str, Any], events: list[Event]) -> dict[str, Any]:
    """A document to insert, carrying its events."""
    return {
        **document,
        OUTBOX_FIELD: [e.to_document() for e in events],
        PENDING_FIELD: bool(events),
    }


def update_with_events(update: dict[str, Any], events: list[Event]) -> dict[str, Any]:
    """Add ``events`` to a MongoDB update document, to be applied in the same write."""
    if not events:
        return update
    merged = {op: dict(fields) for op, fields in update.items()}
    merged.setdefault("$push", {})[OUTBOX_FIELD] = {"$each": [e.to_document() for e in events]}
    merged.setdefault("$set", {})[PENDING_FIELD] = True
    return merged


def ensure_indexes(collection: Collection) -> None:
    collection.create_index(PENDING_FIELD, name="outbox_pending")


def public(document: dict[str, Any] | None) -> dict[str, Any] | None:
    """The document without its outbox bookkeeping."""
    if document is None:
        return None
    return {k: v for k, v in document.items() if k not in (OUTBOX_FIELD, PENDING_FIELD)}


class OutboxRelay:
    """Publishes the pending events of the given collections, oldest documents first."""

    def __init__(
        self,
        db: Database,
        collections: list[str],
        publisher: EventPublisher,
        service: str,
        batch_size: int = 100,
    ) -> None:
        self.db = db
        self.collections = collections
        self.publisher = publisher
        self.service = service
        self.batch_size = batch_size

    def backlog(self) -> int:
        return sum(
            self.db[name].count_documents({PENDING_FIELD: True}) for name in self.collections
        )

    def relay_once(self) -> int:
        """Publish one batch from every collection; return how many events went out."""
        sent = 0
        for name in self.collections:
            collection = self.db[name]
            pending = collection.find(
                {PENDING_FIELD: True}, {OUTBOX_FIELD: 1}, sort=[("_id", 1)], limit=self.batch_size
            )
            for document in pending:
                entries = document.get(OUTBOX_FIELD) or []
                if entries:
                    self.publisher.publish([Event.from_document(e) for e in entries])
                    # Remove exactly what was published: a concurrent write may have appended more.
                    collection.update_one(
                        {"_id": document["_id"]}, {"$pullAll": {OUTBOX_FIELD: entries}}
                    )
                    sent += len(entries)
                # Clear the flag only if nothing new arrived meanwhile.
                collection.update_one(
                    {"_id": document["_id"], OUTBOX_FIELD: {"$size": 0}},
                    {"$set": {PENDING_FIELD: False}},
                )
        return sent

    def run(self, stop: threading.Event, idle_interval_s: float = 0.2) -> None:
        while not stop.is_set():
            try:
                sent = self.relay_once()
                metrics.OUTBOX_BACKLOG.labels(self.service).set(self.backlog())
            except Exception:
                log.exception("outbox relay pass failed; retrying")
                stop.wait(2)
                continue
            if not sent:
                stop.wait(idle_interval_s)
