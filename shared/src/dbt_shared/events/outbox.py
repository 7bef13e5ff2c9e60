"""The transactional outbox without transactions: intents, the document as commit record, and
an immediate hand-off.

FerretDB and a lone MongoDB have no multi-document transactions, so an event cannot be written
atomically with a state change *and* into a queue. Instead (``dbt_shared.documents`` does this
for every save):

1. **intent**: before the state write, one small document per event goes into
   ``outbox_intents`` (``_id`` = event id, the collection and document it belongs to, the event);
2. **commit record**: the state write itself carries the events (``_outbox`` in the document, one
   single-document write), so the state change and its events land together or not at all;
3. **hand-off**: right after the write succeeds the process gives the events to the broker
   (``hand_off``) and deletes their intents once the broker has acknowledged them;
4. **relay** (in the worker): sweeps what the hand-off missed. It reads only the intents, the
   work in flight, never the state collections: an intent whose document holds its event is
   published and deleted; so is one that the document's recent history no longer reaches (the
   document keeps its last ``KEEP_IN_DOCUMENT`` events, and more were written after it: a long
   broker outage); an intent whose document does not hold it after a grace period belongs to a
   write that never happened, and is dropped.
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
import queue
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, Protocol

from pymongo.database import Database
from pymongo.errors import BulkWriteError

from dbt_shared import group_inserts, loop_health, metrics
from dbt_shared.clock import Clock, SystemClock, aware
from dbt_shared.events.envelope import Event
from dbt_shared.events.publisher import Unpublishable
from dbt_shared.events.records import error_text
from dbt_shared.mongo import delete_ids

log = logging.getLogger(__name__)

OUTBOX_FIELD = "_outbox"
RECORDED_AT_FIELD = "_outbox_at"  # written by the earlier relay design; hidden, never read
INTENTS_COLLECTION = "outbox_intents"
# Events the broker refused for good, with why: out of the relay's sweep, kept for an operator.
PARKED_COLLECTION = "outbox_parked"
# How often the relay counts the parked events for its gauge (an alert holds while any wait).
PARKED_COUNT_EVERY_S = 60.0
# Clock skew between the processes writing one document: an event at most this much younger
# than the oldest its document kept was still written before it (the history reaches past it).
SKEW = timedelta(milliseconds=250)
# How many events a document keeps as its recent history (the commit records the relay checks).
KEEP_IN_DOCUMENT = 50
# How often the hand-off deletes the intents of what the broker acknowledged (one delete).
FORGET_EVERY_S = 0.25
# How long the hand-off gathers what the writes of this moment made before one send.
GATHER_S = 0.01


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
    return {k: v for k, v in document.items() if k not in (OUTBOX_FIELD, RECORDED_AT_FIELD)}


def ensure_indexes(db: Database) -> None:
    # The relay's sweep: oldest intents first (a small collection: only what is in flight).
    db[INTENTS_COLLECTION].create_index([("created_at", 1), ("_id", 1)], name="created_at")
    # An operator's look at what is parked, oldest first (parking moves, by _id, need no more).
    db[PARKED_COLLECTION].create_index([("parked_at", 1), ("_id", 1)], name="parked_at")


def record_intents(
    db: Database, collection: str, document_id: str, events: Iterable[Event], clock: Clock
) -> list[str]:
    """Step 1: say, before the state write, which events it will carry."""
    return record_intents_many(db, collection, [(document_id, events)], clock)


def record_intents_many(
    db: Database,
    collection: str,
    writes: Iterable[tuple[str, Iterable[Event]]],
    clock: Clock,
) -> list[str]:
    """``record_intents`` for several writes (document id, its events) in one insert."""
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
    if intents:  # with the intents other threads of this process record meanwhile
        group_inserts.of(db[INTENTS_COLLECTION]).insert_many(intents)
    return [i["_id"] for i in intents]


class _HandOff:
    """Step 3, off the request path: a thread of this process hands recorded events to the
    broker and deletes their intents. Bounded: when it cannot keep up, the relay sends."""

    def __init__(
        self, publisher_factory: Callable[[], Publisher], timeout_s: float, gather_s: float
    ) -> None:
        self.publisher_factory = publisher_factory
        self.timeout_s = timeout_s
        self.gather_s = gather_s
        self.queue: queue.Queue[tuple[Database, list[Event]]] = queue.Queue(maxsize=10_000)
        self._publisher: Publisher | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.forgetting = False  # acknowledged events whose intents are still to be deleted

    def submit(self, db: Database, events: list[Event]) -> bool:
        with self._lock:  # started lazily: after gunicorn forks, in the process that uses it
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="hand-off", daemon=True)
                self._thread.start()
        try:
            self.queue.put_nowait((db, events))
        except queue.Full:
            return False
        return True

    def _run(self) -> None:
        forget: dict[int, tuple[Database, list[str]]] = {}  # acknowledged, intents to delete
        forgot_at = time.monotonic()
        while True:
            try:
                batch = [self.queue.get(timeout=FORGET_EVERY_S)]
            except queue.Empty:
                batch = []
            gathered = time.monotonic() + self.gather_s
            while batch and len(batch) < 100:  # what queues meanwhile goes in the same send
                try:
                    batch.append(self.queue.get(timeout=max(0.0, gathered - time.monotonic())))
                except queue.Empty:
                    break
            try:
                if batch:
                    if self._publisher is None:
                        self._publisher = self.publisher_factory()
                    rejected: dict[str, BaseException] = {}
                    try:
                        self._publisher.publish(
                            [e for _db, events in batch for e in events], timeout_s=self.timeout_s
                        )
                    except Unpublishable as exc:  # the others went out: these are parked
                        rejected = {event.id: error for event, error in exc.rejected}
                    for db, events in batch:
                        if rejected:
                            service = getattr(self._publisher, "service", "unknown")
                            mine = [e for e in events if e.id in rejected]
                            _park_events(db, mine, rejected, service)
                        forget.setdefault(id(db), (db, []))[1].extend(
                            e.id for e in events if e.id not in rejected
                        )
                    self.forgetting = True
            except Exception:
                log.warning("hand-off to the broker failed; the relay will send", exc_info=True)
            finally:
                for _ in batch:
                    self.queue.task_done()
            # One delete per database every FORGET_EVERY_S, not one per send: an intent left a
            # moment longer is younger than the relay's hand-off time, which leaves it alone.
            if forget and (not batch or time.monotonic() - forgot_at >= FORGET_EVERY_S):
                try:
                    for db, event_ids in forget.values():
                        forget_intents(db, event_ids)
                except Exception:
                    log.warning("intents not deleted; the relay will", exc_info=True)
                forget.clear()
                forgot_at = time.monotonic()
                self.forgetting = False


_hand_off: _HandOff | None = None


def configure_hand_off(
    publisher_factory: Callable[[], Publisher] | None,
    timeout_s: float = 10.0,
    gather_s: float = GATHER_S,
) -> None:
    """Let this process hand its events to the broker right after each write (``None``: the
    relay alone sends them, as in unit tests). ``gather_s``: how long one send waits for more
    (a batch job that no one waits for gathers longer)."""
    global _hand_off
    _hand_off = _HandOff(publisher_factory, timeout_s, gather_s) if publisher_factory else None


def hand_off(db: Database, events: list[Event]) -> bool:
    """Queue the events of a successful write for the broker. Never raises, never waits."""
    if _hand_off is None or not events:
        return False
    return _hand_off.submit(db, events)


def flush_hand_off() -> None:
    """Wait until every queued hand-off was tried (a batch job before it exits)."""
    if _hand_off is not None:
        _hand_off.queue.join()
        deadline = time.monotonic() + 10 * FORGET_EVERY_S
        while _hand_off.forgetting and time.monotonic() < deadline:
            time.sleep(FORGET_EVERY_S / 5)


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


def _park_events(
    db: Database, events: list[Event], errors: dict[str, BaseException], service: str
) -> None:
    """``park_intents`` for the hand-off, which holds the events, not their intents."""
    intents = [
        intent
        for event in events
        # index: _id (a refused event is rare: one lookup each is no cost)
        if (intent := db[INTENTS_COLLECTION].find_one({"_id": event.id})) is not None
    ]
    park_intents(db, intents, errors, service, _SYSTEM_CLOCK)


def parked_count(db: Database, limit: int = 10_000) -> int:
    """How many events wait in ``outbox_parked`` for an operator (none, normally)."""
    command = {"query": {}, "limit": limit}  # the count command: no aggregation on FerretDB
    return int(db.command("count", PARKED_COLLECTION, **command)["n"])


_SYSTEM_CLOCK = SystemClock()


class _History:
    """The events a document keeps (its last ``KEEP_IN_DOCUMENT``): whether it holds an
    intent's event, or no longer reaches back to it because later writes pushed it out."""

    def __init__(self, kept: list[dict[str, Any]]) -> None:
        self.ids = {e.get("id") for e in kept}
        times = [aware(e["time"]) for e in kept if isinstance(e.get("time"), datetime)]
        # Full: older events may have been sliced away; the oldest kept one says from when.
        self.reaches_back_to = min(times) if len(kept) >= KEEP_IN_DOCUMENT and times else None

    def holds(self, intent: dict[str, Any]) -> bool:
        if intent["_id"] in self.ids:
            return True
        # Sliced out (a long broker outage, KEEP_IN_DOCUMENT later events on one document):
        # written before the oldest event kept, so its write happened. Sent, never dropped.
        at = intent["event"].get("time")
        return (
            self.reaches_back_to is not None
            and isinstance(at, datetime)
            and aware(at) <= self.reaches_back_to + SKEW
        )


class OutboxRelay:
    """Step 4: publishes intents whose write happened, in the order recorded."""

    def __init__(
        self,
        db: Database,
        collections: list[str],
        publisher: Publisher,
        service: str,
        *,
        clock: Clock | None = None,
        batch_size: int = 200,
        grace: timedelta = timedelta(seconds=60),
        hand_off_time: timedelta = timedelta(seconds=5),
    ) -> None:
        self.db = db
        self.collections = set(collections)
        self.publisher = publisher
        self.service = service
        self.clock = clock or SystemClock()
        self.batch_size = batch_size
        self.grace = grace
        # The process that wrote an event hands it off itself within moments: the sweep leaves
        # younger intents to it rather than publish everything twice.
        self.hand_off_time = hand_off_time
        self.backlog = 0
        self.healthy = True  # false while a sweep fails (worker readiness)
        self._parked_counted_at: float | None = None  # monotonic; None: count at next pass

    def relay_once(self) -> int:
        """Sweep every intent once; returns how many events went out."""
        sent = 0
        after: tuple[datetime, str] | None = None
        waiting = 0
        while True:
            query: dict[str, Any] = {}
            if after is not None:
                at, last_id = after
                query = {
                    "$or": [
                        {"created_at": {"$gt": at}},
                        {"created_at": at, "_id": {"$gt": last_id}},
                    ]
                }
            # index: created_at (created_at, _id); the collection holds only what is in flight
            intents = list(
                self.db[INTENTS_COLLECTION].find(
                    query, sort=[("created_at", 1), ("_id", 1)], limit=self.batch_size
                )
            )
            if not intents:
                break
            batch_sent, batch_waiting = self._relay(intents)
            sent += batch_sent
            waiting += batch_waiting
            if len(intents) < self.batch_size:
                break
            after = (intents[-1]["created_at"], intents[-1]["_id"])
        self.backlog = waiting
        return sent

    def _relay(self, intents: list[dict[str, Any]]) -> tuple[int, int]:
        now = self.clock.now()
        recorded: dict[tuple[str, str], _History] = {}
        ready: list[dict[str, Any]] = []
        dropped: list[str] = []
        held: set[tuple[str, str]] = set()  # an aggregate waits behind its unwritten intent
        waiting = 0
        for intent in intents:
            key = (intent["collection"], intent["document_id"])
            if now - aware(intent["created_at"]) < self.hand_off_time:
                held.add(key)  # being handed off right now, most likely
                waiting += 1
                continue
            if key not in recorded:
                # index: _id; the document is the commit record of its events
                document = self.db[intent["collection"]].find_one(
                    {"_id": intent["document_id"]}, {OUTBOX_FIELD: 1}
                )
                recorded[key] = _History((document or {}).get(OUTBOX_FIELD) or [])
            written = recorded[key].holds(intent)
            if written and key not in held:
                ready.append(intent)
            elif written:
                waiting += 1
            elif now - aware(intent["created_at"]) > self.grace:
                dropped.append(intent["_id"])  # its write never happened
            else:
                held.add(key)  # the write may still be under way: keep the order
                waiting += 1
        sent = self._publish(ready)
        if dropped:
            log.info("dropped intents of writes that never happened", extra={"count": len(dropped)})
            forget_intents(self.db, dropped)
        return sent, waiting

    def _publish(self, intents: list[dict[str, Any]]) -> int:
        """Publish the intents' events and delete them; park those the broker refuses for good
        (the others go out all the same). Answers how many went out."""
        if not intents:
            return 0
        events: list[Event] = []
        refused: dict[str, BaseException] = {}
        for intent in intents:
            try:
                events.append(Event.from_document(intent["event"]))
            except Exception as exc:  # a stored event that no longer decodes: never will
                refused[intent["_id"]] = exc
        try:
            self.publisher.publish(events)
        except Unpublishable as exc:
            refused.update({event.id: error for event, error in exc.rejected})
        if refused:
            parked = [i for i in intents if i["_id"] in refused]
            park_intents(self.db, parked, refused, self.service, self.clock)
            self._parked_counted_at = None  # count again now
        forget_intents(self.db, [i["_id"] for i in intents if i["_id"] not in refused])
        return len(intents) - len(refused)

    def _count_parked(self) -> None:
        """Refresh the parked gauge after parking and once a minute (an operator clearing
        ``outbox_parked`` ends the alert): one count of a collection that is empty normally."""
        moment = time.monotonic()
        if self._parked_counted_at is None or moment - self._parked_counted_at >= (
            PARKED_COUNT_EVERY_S
        ):
            metrics.OUTBOX_PARKED_NOW.labels(self.service).set(parked_count(self.db))
            self._parked_counted_at = moment

    def pending(self) -> int:
        """Intents not yet published: the backlog, also while the broker is down."""
        return self.db[INTENTS_COLLECTION].count_documents({})

    def run(self, stop: threading.Event, idle_interval_s: float = 0.5, max_idle_s: float = 5.0):
        """Sweep until stopped; at rest the interval backs off to ``max_idle_s``."""
        ensure_indexes(self.db)
        interval = idle_interval_s
        while not stop.is_set():
            # A sweep that never returns (a publish or a read that hangs) raises nothing: the
            # worker's readiness sees it by its age (loop "relay", dbt_shared.loop_health).
            loop_health.PASSES.begin("relay")
            try:
                sent = self.relay_once()
                self.healthy = True
                metrics.OUTBOX_BACKLOG.labels(self.service).set(self.backlog)
                self._count_parked()
            except Exception:
                self.healthy = False
                log.exception("outbox relay pass failed; retrying")
                try:
                    metrics.OUTBOX_BACKLOG.labels(self.service).set(max(self.pending(), 1))
                except Exception:  # the database itself may be what failed
                    metrics.OUTBOX_BACKLOG.labels(self.service).set(max(self.backlog, 1))
                loop_health.PASSES.end("relay")
                stop.wait(2)
                continue
            loop_health.PASSES.end("relay")
            interval = idle_interval_s if sent or self.backlog else min(interval * 2, max_idle_s)
            stop.wait(interval)
