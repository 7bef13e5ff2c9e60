"""The consumer runner: one consumer group per service, effects before offsets, no double effects.

For every record:
1. parse the CloudEvent and validate its data against the catalog; a malformed record can never
   succeed, so it goes straight to ``<topic>.dlq``; so does one whose type is not published by
   the service that owns it (its ``source``) on that service's topic;
2. skip (and count) event types this service has no handler for, by the ``ce_type`` header
   before decoding; the offset past such a run is committed every few seconds, not per poll;
3. skip an event whose ``source`` + ``id`` is already in ``processed_events`` (unique ``_id``);
4. run the handler; it must key what it writes on ``event.dedup_key`` (or make it otherwise
   idempotent) so that a crash between its effect and step 5 cannot cause a second effect;
5. record the event as processed, then commit the offset: only ever the offset past records
   that are all settled (effect stored, dead-lettered, a repeat or not ours), never past one
   still pending when the batch raised.
Per poll and partition, the dedup records are one ``insert_many`` and the commit is one. A
handler made with ``batched`` takes a run of records of its type in one call (step 3 is then
its keyed writes' job), so a backlog costs a few bulk writes per poll, not a few per record.
A failing handler is retried with exponential backoff; after the last attempt the record goes to
the dead-letter topic with the error in its headers. A lost database connection is not the
event's fault: it is retried until the database is back, never dead-lettered.
SIGTERM finishes the record in hand, commits, leaves the group and closes. A worker may run
several runners in its one group, each on its own topics (``lanes``: urgent topics apart).
The steps of one record are :mod:`dbt_shared.events.record_handling`; here are the loop, the
batches and the offsets.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time

from kafka import KafkaConsumer, OffsetAndMetadata
from kafka.coordinator.assignors.range import RangePartitionAssignor
from pymongo.database import Database

from dbt_shared import metrics
from dbt_shared.clock import Clock
from dbt_shared.events import fetch_pace, records
from dbt_shared.events.catalog import Catalog
from dbt_shared.events.envelope import Event
from dbt_shared.events.handling import BatchHandler, Handler, HandlerContext, batched
from dbt_shared.events.outages import Stopping, database_away
from dbt_shared.events.publisher import EventPublisher
from dbt_shared.events.record_handling import RecordHandling
from dbt_shared.loop_health import LoopPasses

log = logging.getLogger(__name__)

# The handler types live in ``handling``; handlers import them from here too.
__all__ = [
    "BatchHandler",
    "ConsumerRunner",
    "Handler",
    "HandlerContext",
    "batched",
    "database_away",
]


# How long the offset past a run of records with no handler here may wait to be committed
# (at most this much is read again after a crash; nothing happens twice: they have no effect).
SKIPPED_COMMIT_S = 5.0


class ConsumerRunner(RecordHandling):
    def __init__(
        self,
        *,
        service: str,
        bootstrap_servers: str,
        db: Database,
        clock: Clock,
        handlers: dict[str, Handler],
        publisher: EventPublisher,
        catalog: Catalog,
        max_attempts: int = 5,
        backoff_initial_s: float = 0.2,
        backoff_max_s: float = 10.0,
        group_id: str | None = None,
        max_poll_records: int = 500,
        fetch_wait_ms: int = 0,
        in_send_order: bool = False,
        first_topics: tuple[str, ...] = (),
        lane: str = "consumer",
        passes: LoopPasses | None = None,
    ) -> None:
        self.catalog = catalog
        unknown = [name for name in handlers if not catalog.knows(name)]
        if unknown:
            raise ValueError(f"handlers for event types not in the catalog: {unknown}")
        self.service = service
        self.group_id = group_id or f"dbt-{service}"
        self.bootstrap_servers = bootstrap_servers
        self.db = db
        self.ctx = HandlerContext(db=db, clock=clock, service=service)
        self.handlers = handlers
        self.publisher = publisher
        self.max_attempts = max_attempts
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.topics = sorted({catalog.get(name).topic.name for name in handlers})
        self.max_poll_records = max_poll_records
        self.fetch_wait_ms = fetch_wait_ms
        self.in_send_order = in_send_order
        self.first_topics = frozenset(first_topics)
        self.lane = lane  # which of the worker's consumers (``lanes``): its client id, its logs
        self.passes = passes or LoopPasses()  # the worker's: readiness sees a pass that hangs
        self.healthy = True  # false while the broker cannot be reached (worker readiness)
        self._in_batch: set[str] = set()
        self._skipped_offsets: dict = {}  # partition -> offset past records not ours
        self._next_offsets: dict = {}  # partition -> offset past the last record handed over
        self._committed_at = time.monotonic()
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    # -- the loop ------------------------------------------------------------------------------
    def run(self) -> None:
        if not self.topics:
            log.info("no event handlers; consumer idle")
            self._stop.wait()
            return
        delay = self.backoff_initial_s
        while not self._stop.is_set():
            try:
                self._consume()
                return
            except Stopping:
                return
            except Exception:
                # A broker restart or outage (a timed-out commit, no broker, a lost group):
                # never the end of the loop. Nothing is lost: uncommitted records come again,
                # and their effects are stored once (dedup records, derived ids).
                self.healthy = False
                metrics.WORKER_LOOP_RESTARTS.labels(self.service, self.lane).inc()
                log.exception(
                    "consumer failed; reconnecting",
                    extra={"group": self.group_id, "lane": self.lane},
                )
                self._stop.wait(delay)
                delay = min(delay * 2, self.backoff_max_s)

    def _consume(self) -> None:
        self._skipped_offsets.clear()
        self._next_offsets.clear()
        pace = fetch_pace.FetchPace(self.fetch_wait_ms)
        consumer = KafkaConsumer(
            bootstrap_servers=self.bootstrap_servers,
            group_id=self.group_id,
            client_id=f"{self.group_id}-{self.lane}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self.max_poll_records,
            # Latency first, or in windows while records come (``fetch_pace``).
            **pace.initial(),
            session_timeout_ms=15_000,
            heartbeat_interval_ms=3_000,
            # Range only: a worker's lanes (``lanes``) are members of one group subscribed to
            # different topics, and kafka-python's round-robin assignor (its other default)
            # fails on that (KeyError in 3.0.12); range gives a topic to its subscribers only.
            partition_assignment_strategy=(RangePartitionAssignor,),
            # Back within seconds of a broker restart (kafka-python waits up to 30 s otherwise).
            reconnect_backoff_max_ms=2_000,
        )
        try:
            consumer.subscribe(self.topics)
            log.info(
                "consumer started",
                extra={"group": self.group_id, "lane": self.lane, "topics": self.topics},
            )
            while not self._stop.is_set():
                # A pass: the poll and its records. One that never ends (a handler's call that
                # never returns, a database that stays away) makes the worker not ready.
                self.passes.begin(self.lane)
                batches = consumer.poll(timeout_ms=1000)
                self.healthy = True
                pace.apply(consumer, pace.after_poll(bool(batches)))
                # With a window, several partitions come at once: taken in the order sent
                # where that matters, else partition by partition (larger batches).
                runs = records.in_time_order(batches) if self.in_send_order else batches.items()
                # A safety topic's records first (a crisis request does not wait behind a poll
                # of routine events); each partition keeps its order, so offsets stay exact.
                runs = records.first_of(runs, self.first_topics)
                for tp, run in runs:
                    self._process_batch(consumer, tp, run)
                self._report_lag(consumer, batches)
                if self._skipped_offsets and (
                    not batches or time.monotonic() - self._committed_at >= SKIPPED_COMMIT_S
                ):
                    self._commit(consumer, {})
        finally:
            self.passes.end(self.lane)
            with contextlib.suppress(Exception):
                if self._skipped_offsets:
                    self._commit(consumer, {})
            with contextlib.suppress(Exception):
                consumer.close(autocommit=False)
            log.info("consumer closed", extra={"group": self.group_id})

    def _report_lag(self, consumer: KafkaConsumer, batches: dict) -> None:
        """``dbt_consumer_lag`` per topic after a poll, from what the client knows already (no
        request to the broker): each partition held is behind by its end (the high watermark
        of its last fetch) less the offset past the last record handed over from it."""
        for tp, run in batches.items():
            if run:
                self._next_offsets[tp] = run[-1].offset + 1
        lag = dict.fromkeys(self.topics, 0)
        for tp in consumer.assignment():
            end, at = consumer.highwater(tp), self._next_offsets.get(tp)
            if end is not None and at is not None and tp.topic in lag:
                lag[tp.topic] += max(end - at, 0)
        for topic, behind in lag.items():
            metrics.CONSUMER_LAG.labels(self.service, topic).set(behind)

    def _process_batch(self, consumer: KafkaConsumer, tp, records: list) -> None:
        """One poll's records of one partition, in order: effects first (a run of records whose
        handlers take batches in one call per type), then the dedup records in one write, then
        one offset commit: effects before offsets, always."""
        handled: list[Event] = []
        pending: list[tuple[object, Event, dict]] = []  # a run of batch-capable records
        # The last record that, with every record before it, is settled: its effect stored,
        # dead-lettered, a repeat or not ours. Only the offset past it may be committed: when
        # the batch raises (SIGTERM while a record is retried, the dead-letter topic out of
        # reach), what is still pending is read again after the restart, never skipped.
        settled = None
        self._in_batch.clear()
        try:
            for record in records:
                parsed = self._parse(record)
                if parsed is not None:
                    event, data = parsed
                    if event.dedup_key in self._in_batch:  # a repeat inside this poll
                        metrics.EVENTS_CONSUMED.labels(self.service, event.type, "duplicate").inc()
                    elif getattr(self.handlers[event.type], "batch", None) is not None:
                        pending.append((record, event, data))
                        self._in_batch.add(event.dedup_key)
                    else:
                        handled += self._flush(pending)
                        if self._handle_one(record, event, data):
                            handled.append(event)
                            self._in_batch.add(event.dedup_key)
                if not pending:  # nothing before it waits for a batch call
                    settled = record
            handled += self._flush(pending)
            settled = records[-1] if records else settled
        finally:
            self._in_batch.clear()
            if handled:  # effects stored: marked even when a later record failed
                self._with_db_retry(lambda: self._mark_processed_many(handled))
            if settled is not None:
                offset = {tp: OffsetAndMetadata(settled.offset + 1, None, -1)}
                if handled:
                    self._commit(consumer, offset)
                else:  # nothing here for us: no effect to protect, the commit can wait
                    self._skipped_offsets.update(offset)

    def _commit(self, consumer: KafkaConsumer, offsets: dict) -> None:
        """Commit ``offsets`` and those of records skipped since the last commit (a run of
        other services' events costs one commit every few seconds, not one per poll)."""
        assigned = consumer.assignment()  # a partition handed to another member is theirs now
        pending = {
            tp: o for tp, o in {**self._skipped_offsets, **offsets}.items() if tp in assigned
        }
        if pending:
            consumer.commit(pending)
        self._skipped_offsets.clear()
        self._committed_at = time.monotonic()

    def _flush(self, pending: list[tuple[object, Event, dict]]) -> list[Event]:
        """Run the pending batch-capable records, one call per event type; answers the events
        handled. A batch that keeps failing is taken record by record, so that only the record
        at fault is dead-lettered."""
        handled: list[Event] = []
        by_type: dict[str, list[tuple[object, Event, dict]]] = {}
        for item in pending:
            by_type.setdefault(item[1].type, []).append(item)
        pending.clear()
        for event_type, items in by_type.items():
            batch = self.handlers[event_type].batch  # type: ignore[attr-defined]
            started = time.perf_counter()
            error = self._retrying(
                lambda items=items, batch=batch: batch([(e, d) for _, e, d in items], self.ctx),
                items[0][1],
            )
            if error is None:
                metrics.HANDLER_DURATION.labels(self.service, event_type).observe(
                    (time.perf_counter() - started) / len(items)
                )
                metrics.EVENTS_CONSUMED.labels(self.service, event_type, "handled").inc(len(items))
                handled += [event for _, event, _ in items]
                continue
            log.warning("batch failed; one record at a time", extra={"event_type": event_type})
            for record, event, data in items:
                if self._run_one(record, event, data):
                    handled.append(event)
        return handled
