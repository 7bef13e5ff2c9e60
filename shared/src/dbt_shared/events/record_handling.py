"""How the consumer takes one record (steps 1-5 of :mod:`dbt_shared.events.consumer`): the
CloudEvent parsed and checked against the catalog and its owner (else dead-lettered, or skipped
when no handler here wants it), looked up in the dedup records, handled with retries
(:mod:`dbt_shared.events.outages`), marked processed, or sent to the dead-letter topic with the
error in its headers."""

from __future__ import annotations

import logging
import time

from pymongo.database import Database
from pymongo.errors import BulkWriteError

from dbt_shared import correlation, metrics, retention
from dbt_shared.events import records
from dbt_shared.events.catalog import Catalog, EventSchemaError
from dbt_shared.events.envelope import EnvelopeError, Event, NotFromOwner
from dbt_shared.events.handling import Handler, HandlerContext
from dbt_shared.events.outages import Retrying
from dbt_shared.events.publisher import EventPublisher
from dbt_shared.events.topics import DLQ_SUFFIX

# The consumer's logger: a record's outcome is logged as the consumer's, as its retries are.
log = logging.getLogger("dbt_shared.events.consumer")

PROCESSED_COLLECTION = "processed_events"


class RecordHandling(Retrying):
    """One record at a time, for :class:`~dbt_shared.events.consumer.ConsumerRunner` (a mix-in:
    the runner sets these attributes)."""

    service: str
    group_id: str
    db: Database
    ctx: HandlerContext
    handlers: dict[str, Handler]
    publisher: EventPublisher
    catalog: Catalog
    #: The dedup keys handled in the batch in hand (not marked processed yet).
    _in_batch: set[str]

    def _parse(self, record) -> tuple[Event, dict] | None:
        """The record's event and validated data; ``None`` when it was dead-lettered (it can
        never succeed) or has no handler here (skipped, counted)."""
        declared = records.header(record, "ce_type")
        if declared is not None and declared not in self.handlers:
            # Not ours: counted, never decoded (every service reads intake's one topic).
            known = declared if self.catalog.knows(declared) else "unknown"
            metrics.EVENTS_CONSUMED.labels(self.service, known, "skipped_unknown").inc()
            return None
        try:
            event = Event.from_kafka(record.key, record.value, record.headers)
        except EnvelopeError as exc:
            self._dead_letter(record, exc, attempts=1, event_type="invalid")
            return None
        if event.type not in self.handlers:
            outcome = "skipped_unknown"
            metrics.EVENTS_CONSUMED.labels(
                self.service, event.type if self.catalog.knows(event.type) else "unknown", outcome
            ).inc()
            return None
        owner = self.catalog.get(event.type)
        if event.source != owner.source or record.topic != owner.topic.name:
            # Only the service that owns a type publishes it, on its own topic: anything else
            # (a misconfigured producer, a forged record) is never handled. Dead-lettered, not
            # just skipped: the record is kept for whoever answers the dead-letter alert.
            error = NotFromOwner(
                f"{event.type} is published by {owner.source} on {owner.topic.name}, "
                f"not by {event.source[:100]} on {record.topic}"
            )
            self._dead_letter(record, error, attempts=1, event_type=event.type)
            return None
        try:
            data = self.catalog.load(event.type, event.data)
        except EventSchemaError as exc:
            self._dead_letter(record, exc, attempts=1, event_type=event.type)
            return None
        return event, data

    def process(self, record, *, mark: bool = True) -> Event | None:
        """Handle one Kafka record: effect stored, or dead-lettered, or skipped. Answers the
        handled event (to be marked processed by the caller when ``mark`` is false)."""
        parsed = self._parse(record)
        if parsed is None:
            return None
        event, data = parsed
        if not self._handle_one(record, event, data):
            return None
        if mark:
            self._with_db_retry(lambda: self._mark_processed_many([event]))
        return event

    def _handle_one(self, record, event: Event, data: dict) -> bool:
        """Look the event up in the dedup records, then handle it; ``True`` if handled now."""
        processed = self.db[PROCESSED_COLLECTION]
        # index: _id (one equality lookup per record; FerretDB pushes equality down). A repeat
        # inside the batch in hand is not marked yet: the batch remembers what it handled.
        if event.dedup_key in self._in_batch or self._with_db_retry(
            lambda: processed.find_one({"_id": event.dedup_key}, {"_id": 1})
        ):
            metrics.EVENTS_CONSUMED.labels(self.service, event.type, "duplicate").inc()
            return False
        return self._run_one(record, event, data)

    def _run_one(self, record, event: Event, data: dict) -> bool:
        started = time.perf_counter()
        with correlation.bound(event.correlation_id):
            error = self._handle_with_retries(event, data)
        metrics.HANDLER_DURATION.labels(self.service, event.type).observe(
            time.perf_counter() - started
        )
        if error is not None:
            self._dead_letter(record, error, attempts=self.max_attempts, event_type=event.type)
            return False
        metrics.EVENTS_CONSUMED.labels(self.service, event.type, "handled").inc()
        return True

    def _handle_with_retries(self, event: Event, data: dict) -> Exception | None:
        handler = self.handlers[event.type]
        return self._retrying(lambda: handler(event, data, self.ctx), event)

    def _mark_processed_many(self, events: list[Event]) -> None:
        now = self.ctx.clock.now()
        day = retention.stamp(now)  # housekeeping forgets marks a day at a time
        marks = {
            e.dedup_key: {"_id": e.dedup_key, "type": e.type, "processed_at": now, **day}
            for e in events
        }
        try:
            self.db[PROCESSED_COLLECTION].insert_many(list(marks.values()), ordered=False)
        except BulkWriteError as exc:  # marked before (a redelivery after a crash)
            if any(err.get("code") != 11000 for err in exc.details.get("writeErrors", [])):
                raise

    def _dead_letter(self, record, error: Exception, attempts: int, event_type: str) -> None:
        headers = records.dead_letter_headers(
            record, error, attempts=attempts, group_id=self.group_id, now=self.ctx.clock.now()
        )
        self.publisher.send_raw(record.topic + DLQ_SUFFIX, record.key, record.value, headers)
        metrics.DEAD_LETTERED.labels(self.service, record.topic).inc()
        metrics.EVENTS_CONSUMED.labels(self.service, event_type, "dead_lettered").inc()
        log.error(
            "event dead-lettered",
            extra={
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "error_type": type(error).__name__,
            },
        )
