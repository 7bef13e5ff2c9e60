"""The transactional outbox without transactions.

An event is stored inside the very document whose change caused it, in the same single-document
write (``insert_one`` of a new document, or ``update_one`` with ``$push``), so the state change and
the event are recorded together or not at all: FerretDB and a lone MongoDB have no
multi-document transactions.

The relay (in the worker) never writes those documents. FerretDB v1 applies an update as
read-then-write without a lock, so a relay clearing events from a document could silently undo
a concurrent change by the api. Instead the relay scans documents whose ``_outbox_at`` is recent
(from its checkpoint, minus a look-back for writers whose clocks or commits lag), publishes the
events not yet marked in ``outbox_published`` (unique ``_id`` = event id), in order, and then marks
them. A crash between publish and mark publishes the event again; consumers drop the repeat by
``source`` + ``id``. Published entries stay in the document as its event history; they are hidden
from API responses by ``public()``.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import BulkWriteError

from dbt_shared import metrics
from dbt_shared.clock import Clock, SystemClock
from dbt_shared.events.envelope import Event
from dbt_shared.events.publisher import EventPublisher

log = logging.getLogger(__name__)

OUTBOX_FIELD = "_outbox"
RECORDED_AT_FIELD = "_outbox_at"
PUBLISHED_COLLECTION = "outbox_published"
CHECKPOINT_COLLECTION = "outbox_checkpoints"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # BSON dates are UTC


def _latest(events: list[Event]) -> datetime:
    return max(e.time for e in events)


def new_document_with_events(document: dict[str, Any], events: list[Event]) -> dict[str, Any]:
    """A document to insert, carrying its events."""
    if not events:
        return dict(document)
    return {
        **document,
        OUTBOX_FIELD: [e.to_document() for e in events],
        RECORDED_AT_FIELD: _latest(events),
    }


def update_with_events(update: dict[str, Any], events: list[Event]) -> dict[str, Any]:
    """Add ``events`` to a MongoDB update document, to be applied in the same write."""
    if not events:
        return update
    merged = {op: dict(fields) for op, fields in update.items()}
    merged.setdefault("$push", {})[OUTBOX_FIELD] = {"$each": [e.to_document() for e in events]}
    merged.setdefault("$set", {})[RECORDED_AT_FIELD] = _latest(events)
    return merged


def ensure_indexes(collection: Collection) -> None:
    collection.create_index(RECORDED_AT_FIELD, name="outbox_recorded_at")


def public(document: dict[str, Any] | None) -> dict[str, Any] | None:
    """The document without its outbox bookkeeping."""
    if document is None:
        return None
    return {k: v for k, v in document.items() if k not in (OUTBOX_FIELD, RECORDED_AT_FIELD)}


class OutboxRelay:
    """Publishes the unpublished events of the given collections, in the order recorded."""

    def __init__(
        self,
        db: Database,
        collections: list[str],
        publisher: EventPublisher,
        service: str,
        *,
        clock: Clock | None = None,
        batch_size: int = 200,
        look_back: timedelta = timedelta(seconds=30),
        keep_marks_for: timedelta = timedelta(days=7),
    ) -> None:
        self.db = db
        self.collections = collections
        self.publisher = publisher
        self.service = service
        self.clock = clock or SystemClock()
        self.batch_size = batch_size
        self.look_back = look_back
        self.keep_marks_for = keep_marks_for
        self.backlog = 0

    def _checkpoint(self, name: str) -> datetime:
        state = self.db[CHECKPOINT_COLLECTION].find_one({"_id": name})
        return _aware(state["scanned_to"]) if state else EPOCH

    def _advance_checkpoint(self, name: str, moment: datetime) -> None:
        self.db[CHECKPOINT_COLLECTION].update_one(
            {"_id": name}, {"$max": {"scanned_to": moment}}, upsert=True
        )

    def relay_once(self) -> int:
        """One full pass over every collection; returns how many events went out."""
        sent = unpublished = 0
        for name in self.collections:
            collection_sent, collection_unpublished = self._relay_collection(name)
            sent += collection_sent
            unpublished += collection_unpublished
        self.backlog = unpublished - sent
        return sent

    def _relay_collection(self, name: str) -> tuple[int, int]:
        """Page through the whole window (fixed for this pass), then move the checkpoint.

        The checkpoint only advances to the moment the pass began, and only once every page was
        handled, so a backlog larger than a page is worked off rather than skipped.
        """
        pass_began = self.clock.now()
        since = self._checkpoint(name) - self.look_back

        # Only entries recorded inside the window: older ones were published (their marks may
        # since have been forgotten) even if their document has just recorded a new event.
        def recent(doc: dict[str, Any]) -> list[dict[str, Any]]:
            return [e for e in doc.get(OUTBOX_FIELD) or [] if _aware(e["time"]) >= since]

        sent = unpublished = 0
        window: dict[str, Any] = {RECORDED_AT_FIELD: {"$gte": since}}
        query = window
        while True:
            documents = list(
                self.db[name].find(
                    query,
                    {OUTBOX_FIELD: 1, RECORDED_AT_FIELD: 1},
                    sort=[(RECORDED_AT_FIELD, 1), ("_id", 1)],
                    limit=self.batch_size,
                )
            )
            entries = [e for doc in documents for e in recent(doc)]
            marked = {
                m["_id"]
                for m in self.db[PUBLISHED_COLLECTION].find(
                    {"_id": {"$in": [e["id"] for e in entries]}}, {"_id": 1}
                )
            }
            unpublished += sum(1 for e in entries if e["id"] not in marked)
            for doc in documents:
                pending = [e for e in recent(doc) if e["id"] not in marked]
                if pending:
                    self.publisher.publish([Event.from_document(e) for e in pending])
                    self._mark([e["id"] for e in pending])
                    sent += len(pending)
            if len(documents) < self.batch_size:
                break
            last_at, last_id = documents[-1][RECORDED_AT_FIELD], documents[-1]["_id"]
            query = {
                "$and": [
                    window,
                    {
                        "$or": [
                            {RECORDED_AT_FIELD: {"$gt": last_at}},
                            {RECORDED_AT_FIELD: last_at, "_id": {"$gt": last_id}},
                        ]
                    },
                ]
            }
        self._advance_checkpoint(name, pass_began)
        return sent, unpublished

    def pending_upper_bound(self) -> int:
        """Documents inside the current windows: what may still wait when a pass fails."""
        return sum(
            self.db[name].count_documents(
                {RECORDED_AT_FIELD: {"$gte": self._checkpoint(name) - self.look_back}}
            )
            for name in self.collections
        )

    def _mark(self, event_ids: list[str]) -> None:
        now = self.clock.now()
        try:
            self.db[PUBLISHED_COLLECTION].insert_many(
                [{"_id": event_id, "published_at": now} for event_id in event_ids], ordered=False
            )
        except BulkWriteError as exc:  # marked by an earlier, interrupted pass
            if any(err.get("code") != 11000 for err in exc.details.get("writeErrors", [])):
                raise

    def forget_old_marks(self) -> None:
        """Marks far older than the look-back window are never consulted again: only entries
        recorded inside the window are candidates for publishing."""
        cutoff = self.clock.now() - self.keep_marks_for
        self.db[PUBLISHED_COLLECTION].delete_many({"published_at": {"$lt": cutoff}})

    def run(self, stop: threading.Event, idle_interval_s: float = 0.2) -> None:
        self.db[PUBLISHED_COLLECTION].create_index("published_at", name="published_at")
        passes = 0
        while not stop.is_set():
            try:
                sent = self.relay_once()
                metrics.OUTBOX_BACKLOG.labels(self.service).set(self.backlog)
                passes += 1
                if passes % 3000 == 0:
                    self.forget_old_marks()
            except Exception:
                log.exception("outbox relay pass failed; retrying")
                try:
                    waiting = self.pending_upper_bound()
                except Exception:  # the database itself may be what failed
                    waiting = self.backlog
                metrics.OUTBOX_BACKLOG.labels(self.service).set(max(waiting, 1))
                stop.wait(2)
                continue
            if not sent:
                stop.wait(idle_interval_s)
