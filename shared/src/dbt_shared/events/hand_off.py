"""Step 3 of the outbox (:mod:`dbt_shared.events.outbox`), off the request path: right after a
write succeeds, a thread of the process that made it hands its events to the broker (gathered
with what other writes of the moment made, one send) and deletes their intents once the broker
acknowledged them. Bounded and never waited on: what it cannot send, the relay sweeps.

A process's ``HandOff`` lives on its ``Storage`` (``dbt_shared.storage.context``), built by the
service's ``bootstrap``; the api or the worker that owns the publisher ``connect``s it (unit
tests never do: the relay alone would send) and ``flush``es it when it stops."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from pymongo.database import Database

from dbt_shared.clock import SystemClock
from dbt_shared.events.envelope import Event
from dbt_shared.events.outbox import INTENTS_COLLECTION, Publisher, forget_intents, park_intents
from dbt_shared.events.publisher import Unpublishable

log = logging.getLogger("dbt_shared.events.outbox")  # one logger for the outbox's steps

# How often the hand-off deletes the intents of what the broker acknowledged (one delete).
FORGET_EVERY_S = 0.25
# How long the hand-off gathers what the writes of this moment made before one send, while
# writes come in a stream: one send per 10 ms instead of one per write under load. A write of a
# quiet moment (the last send longer than STREAM_GAP_S ago) is sent at once: a lone urgent
# write does not wait 10 ms for company that is not coming.
GATHER_S = 0.01
STREAM_GAP_S = 0.05


class HandOff:
    """Step 3, off the request path: a thread of this process hands recorded events to the
    broker and deletes their intents. Bounded: when it cannot keep up, the relay sends. Sends
    nothing until ``connect``ed to a publisher."""

    def __init__(self) -> None:
        self.publisher_factory: Callable[[], Publisher] | None = None
        self.timeout_s = 10.0
        self.gather_s = GATHER_S
        self.queue: queue.Queue[tuple[Database, list[Event]]] = queue.Queue(maxsize=10_000)
        self._publisher: Publisher | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.forgetting = False  # acknowledged events whose intents are still to be deleted

    def connect(
        self,
        publisher_factory: Callable[[], Publisher] | None,
        timeout_s: float = 10.0,
        gather_s: float = GATHER_S,
    ) -> None:
        """Hand this process's events to the broker right after each write, through the
        publisher ``publisher_factory`` makes (once, on the hand-off's thread); ``None``: the
        relay alone sends them. ``gather_s``: how long one send waits for more (a batch job
        that no one waits for gathers longer)."""
        with self._lock:
            self.publisher_factory = publisher_factory
            self.timeout_s, self.gather_s = timeout_s, gather_s
            self._publisher = None

    def hand_off(self, db: Database, events: list[Event]) -> bool:
        """Queue the events of a successful write for the broker. Never raises, never waits."""
        if self.publisher_factory is None or not events:
            return False
        return self.submit(db, events)

    def flush(self) -> None:
        """Wait until every queued hand-off was tried (the process's stop, a batch job)."""
        if self.publisher_factory is None and self._thread is None:
            return
        self.queue.join()
        deadline = time.monotonic() + 10 * FORGET_EVERY_S
        while self.forgetting and time.monotonic() < deadline:
            time.sleep(FORGET_EVERY_S / 5)

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
        sent_at = forgot_at - STREAM_GAP_S  # nothing sent yet: the first write goes at once
        while True:
            try:
                batch = [self.queue.get(timeout=FORGET_EVERY_S)]
            except queue.Empty:
                batch = []
            streaming = time.monotonic() - sent_at < STREAM_GAP_S
            gathered = time.monotonic() + (self.gather_s if streaming else 0.0)
            while batch and len(batch) < 100:  # what queues meanwhile goes in the same send
                try:
                    batch.append(self.queue.get(timeout=max(0.0, gathered - time.monotonic())))
                except queue.Empty:
                    break
            try:
                if batch:
                    if self._publisher is None:
                        factory = self.publisher_factory
                        if factory is None:  # disconnected meanwhile: the relay sends
                            raise RuntimeError("hand-off not connected")
                        self._publisher = factory()
                    rejected: dict[str, BaseException] = {}
                    sent_at = time.monotonic()
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


_SYSTEM_CLOCK = SystemClock()
