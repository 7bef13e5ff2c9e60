"""Step 4 of the outbox (:mod:`dbt_shared.events.outbox`), in the worker: the relay sweeps the
intents (only the work in flight, never the state collections) and publishes those whose write
happened, in the order recorded; it drops the intents of writes that never happened, parks what
the broker refuses for good, and keeps the backlog and parked gauges."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta
from typing import Any

from pymongo.database import Database

from dbt_shared import metrics
from dbt_shared.clock import Clock, SystemClock, aware
from dbt_shared.events.envelope import Event
from dbt_shared.events.outbox import (
    INTENTS_COLLECTION,
    KEEP_IN_DOCUMENT,
    OUTBOX_FIELD,
    Publisher,
    ensure_indexes,
    forget_intents,
    park_intents,
    parked_count,
)
from dbt_shared.events.publisher import Unpublishable
from dbt_shared.loop_health import LoopPasses

log = logging.getLogger("dbt_shared.events.outbox")  # one logger for the outbox's steps

# How often the relay counts the parked events for its gauge (an alert holds while any wait).
PARKED_COUNT_EVERY_S = 60.0
# Clock skew between the processes writing one document: an event at most this much younger
# than the oldest its document kept was still written before it (the history reaches past it).
SKEW = timedelta(milliseconds=250)


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
        passes: LoopPasses | None = None,
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
        # Where its passes are marked: the worker's (readiness sees a sweep that hangs).
        self.passes = passes or LoopPasses()

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
            # worker's readiness sees it by its age (loop "relay", ``self.passes``).
            self.passes.begin("relay")
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
                self.passes.end("relay")
                stop.wait(2)
                continue
            self.passes.end("relay")
            interval = idle_interval_s if sent or self.backlog else min(interval * 2, max_idle_s)
            stop.wait(interval)
