"""The worker process every service runs: outbox relay, event consumer, timers, health/metrics.

Scales by partitions, not by HTTP load. SIGTERM (or Ctrl-C) stops every loop: each consumer
lane finishes the record in hand, commits and leaves its group; the relay finishes its batch.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from pymongo.database import Database

from dbt_shared import idempotency, logs, metrics, retention
from dbt_shared.clock import Clock, SystemClock
from dbt_shared.config import Settings, env_int
from dbt_shared.events.catalog import Catalog
from dbt_shared.events.consumer import Handler
from dbt_shared.events.lanes import consumer_lanes
from dbt_shared.events.publisher import EventPublisher
from dbt_shared.events.record_handling import PROCESSED_COLLECTION
from dbt_shared.events.relay import OutboxRelay
from dbt_shared.events.topics import ensure_topics, with_dead_letters
from dbt_shared.heap import freeze_startup_objects
from dbt_shared.loop_health import LoopPasses
from dbt_shared.storage import mongo
from dbt_shared.storage.context import Storage

log = logging.getLogger(__name__)


@dataclass
class WorkerContext:
    settings: Settings
    db: Database
    clock: Clock
    stop: threading.Event
    # The worker's loops: when each pass began, which failed last (readiness; loop_health).
    passes: LoopPasses = field(default_factory=LoopPasses)


@dataclass(frozen=True)
class Timer:
    """A job run every ``interval_s`` seconds (reminders, SLA checks, delivery dispatch).

    A job that answers ``False`` found nothing to do: the next run waits twice as long, up to
    ``idle_max_s``, so a platform at rest does next to nothing; any other answer resets it.
    """

    name: str
    interval_s: float
    run: Callable[[WorkerContext], bool | None]
    idle_max_s: float | None = None
    # Set by whoever makes work that must not wait for the next tick (an urgent delivery): the
    # timer runs at once. Nothing polls faster for it; a timer at rest sleeps as before.
    wake: threading.Event | None = None


@dataclass(frozen=True)
class Wiring:
    """What a service's bootstrap gives its worker: event handlers and timers, both calling
    the service layer."""

    handlers: dict[str, Handler]
    timers: list[Timer] = field(default_factory=list)
    # How long a fetch may wait to fill up (a service's ``handlers.FETCH_WAIT_MS``): 0 hands
    # each record over as it comes (latency first); a few hundred ms turn a busy topic of
    # other services' events into one poll per window instead of one per record.
    fetch_wait_ms: int = 0
    # Whether a window's records of several partitions are merged by the time they were sent
    # (a service's ``handlers.IN_SEND_ORDER``): for handlers whose outcome depends on order.
    in_send_order: bool = False
    # Topics whose records a poll hands over before the others' (a service's
    # ``handlers.FIRST_TOPICS``): safety events must not wait behind a backlog of routine ones.
    first_topics: tuple[str, ...] = ()
    # Topics read by a consumer of their own (a service's ``handlers.URGENT_TOPICS``): a
    # crisis request is handled while a poll of routine events is, not after it (``lanes``).
    urgent_topics: tuple[str, ...] = ()
    # The components' storage (``dbt_shared.storage.context``): the worker connects its
    # hand-off to the worker's publisher and makes its pending writes when it stops.
    storage: Storage | None = None


def run_worker(
    service: str,
    *,
    catalog: Catalog,
    outbox_collections: list[str],
    wire: Callable[[WorkerContext], Wiring],
    prepare: Callable[[WorkerContext], None] | None = None,
    clock: Clock | None = None,
) -> None:
    """Run the worker of ``service``: ``catalog`` holds the event types it publishes and
    consumes (their topics are created at start), ``wire`` builds its handlers and timers."""
    settings = Settings.from_env(service)
    logs.configure(service, settings.log_level, settings.log_format)
    stop = threading.Event()
    ctx = WorkerContext(
        settings=settings,
        db=mongo.Mongo(settings.mongodb_uri).database(settings.mongodb_database),
        clock=clock or SystemClock(),
        stop=stop,
    )

    def _on_signal(signum, _frame):
        log.info("stopping", extra={"signal": signal.Signals(signum).name})
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)

    ensure_topics(
        settings.kafka_bootstrap_servers,
        with_dead_letters(catalog.topics()),
        replication_factor=env_int("KAFKA_REPLICATION_FACTOR", 1),
    )
    retention.ensure_index(ctx.db[PROCESSED_COLLECTION])  # housekeeping: whole days by equality
    idempotency.MongoIdempotencyKeys(ctx.db).ensure_indexes()
    if prepare:
        prepare(ctx)
    wiring = wire(ctx)
    publisher = EventPublisher(settings.kafka_bootstrap_servers, service, catalog)
    if wiring.storage is not None:
        wiring.storage.hand_off.connect(lambda: publisher)
    relay = OutboxRelay(
        ctx.db, outbox_collections, publisher, service, clock=ctx.clock, passes=ctx.passes
    )
    consumers = consumer_lanes(
        service=service,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        db=ctx.db,
        clock=ctx.clock,
        handlers=wiring.handlers,
        publisher=publisher,
        catalog=catalog,
        max_attempts=env_int("CONSUMER_MAX_ATTEMPTS", 5),
        fetch_wait_ms=wiring.fetch_wait_ms,
        in_send_order=wiring.in_send_order,
        first_topics=wiring.first_topics,
        urgent_topics=wiring.urgent_topics,
        passes=ctx.passes,
    )

    loops: dict[str, Callable[[], None]] = {
        "relay": lambda: relay.run(stop),
        **{lane: runner.run for lane, runner in consumers.items()},
    }
    for timer in [*wiring.timers, Timer("housekeeping", 3600, housekeeping)]:
        loops[f"timer:{timer.name}"] = _timer_loop(timer, ctx)
    freeze_startup_objects()  # wired: what start-up built stays (dbt_shared.heap)
    threads = {
        name: threading.Thread(
            target=_guarded(service, name, fn, stop, ctx.passes), name=name, daemon=True
        )
        for name, fn in loops.items()
    }
    for thread in threads.values():
        thread.start()

    failing_loops = _failing_loops(consumers, relay, stall_limit_s(), ctx.passes)
    server = _serve_health_and_metrics(
        settings.worker_metrics_port,
        threads,
        _reporting(service, threads, failing_loops, ctx.passes),
    )
    log.info("worker started", extra={"loops": sorted(threads)})

    stop.wait()
    for timer in wiring.timers:
        if timer.wake is not None:
            timer.wake.set()  # a timer waiting for its wake sees the stop now
    for runner in consumers.values():
        runner.stop()
    for thread in threads.values():
        thread.join(timeout=20)
    server.shutdown()
    if wiring.storage is not None:
        wiring.storage.stop()  # its pending tally adjustments and deferred deletes
    publisher.close()
    log.info("worker stopped")
    sys.exit(0)


def stall_limit_s() -> int:
    """``WORKER_STALL_S``: how long a loop may stay in one pass before readiness calls it
    stuck. Above the longest pass a healthy loop takes (a poll of 500 records and their
    effects, a sweep of a backlog, a timer's run), well below an alert's patience."""
    return env_int("WORKER_STALL_S", 120)


def _failing_loops(
    consumers: dict, relay, stall_s: float, passes: LoopPasses
) -> Callable[[], set[str]]:
    """What the worker's /readyz names: the loops whose last pass failed (a broker or database
    outage) and those stuck in one pass for more than ``stall_s`` (``loop_health``)."""

    def failing_loops() -> set[str]:
        failing = set(passes.failing)
        failing.update(lane for lane, runner in consumers.items() if not runner.healthy)
        if not relay.healthy:
            failing.add("relay")
        failing.update(passes.stuck(stall_s))
        return failing

    return failing_loops


def housekeeping(ctx: WorkerContext) -> None:
    """Forget what is no longer needed: dedup records older than any redelivery can be (Kafka
    keeps events 7 days) and idempotency keys older than any client retry. The audit log is
    never pruned here: it is kept for as long as the clinic's records policy says."""
    now = ctx.clock.now()
    processed_days = env_int("PROCESSED_EVENTS_RETENTION_DAYS", 14)
    retention.forget_before(ctx.db[PROCESSED_COLLECTION], now - timedelta(days=processed_days))
    key_hours = env_int("IDEMPOTENCY_KEYS_RETENTION_HOURS", 48)
    idempotency.MongoIdempotencyKeys(ctx.db).forget_before(now - timedelta(hours=key_hours))


def _timer_loop(timer: Timer, ctx: WorkerContext) -> Callable[[], None]:
    def loop() -> None:
        interval = timer.interval_s
        while not ctx.stop.is_set():
            try:
                with ctx.passes.busy(f"timer:{timer.name}"):  # stuck: not ready
                    did = timer.run(ctx)
                ctx.passes.failing.discard(f"timer:{timer.name}")
            except Exception:
                ctx.passes.failing.add(f"timer:{timer.name}")
                log.exception("timer failed", extra={"timer": timer.name})
                did = None
            if did is False and timer.idle_max_s:
                interval = min(interval * 2, timer.idle_max_s)
            else:
                interval = timer.interval_s
            if timer.wake is None:
                ctx.stop.wait(interval)
            else:  # the interval, or until woken (the stop wakes it too)
                timer.wake.wait(interval)
                timer.wake.clear()  # what woke it is run next: a wake from then on is kept

    return loop


def _reporting(
    service: str,
    threads: dict[str, threading.Thread],
    failing_loops: Callable[[], set[str]],
    passes: LoopPasses,
) -> Callable[[], set[str]]:
    """``failing_loops`` that also sets ``dbt_worker_loop_up`` per loop each time it is asked
    (each /readyz and each scrape): an alert sees what readiness sees."""

    def failing() -> set[str]:
        failed = failing_loops()
        for name in threads:
            metrics.WORKER_LOOP_UP.labels(service, name).set(0 if name in failed else 1)
            metrics.WORKER_LOOP_BUSY.labels(service, name).set(passes.busy_for(name))
        return failed

    return failing


def _guarded(
    service: str, name: str, fn: Callable[[], None], stop: threading.Event, passes: LoopPasses
) -> Callable[[], None]:
    """A loop that fails is started again with backoff: an outage never ends it."""

    def run() -> None:
        delay = 1.0
        while not stop.is_set():
            try:
                fn()
                return
            except Exception:
                passes.failing.add(name)
                metrics.WORKER_LOOP_RESTARTS.labels(service, name).inc()
                log.exception("worker loop failed; starting it again", extra={"loop": name})
                stop.wait(delay)
                delay = min(delay * 2, 30.0)

    return run


def _serve_health_and_metrics(
    port: int, threads: dict[str, threading.Thread], failing_loops: Callable[[], set[str]]
):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/healthz":
                dead = [name for name, t in threads.items() if not t.is_alive()]
                status = 503 if dead else 200
                body = b'{"status":"ok"}' if not dead else b'{"status":"loop stopped"}'
                content_type = "application/json"
            elif self.path == "/readyz":
                failing = sorted(failing_loops())
                status = 503 if failing else 200
                body = json.dumps(
                    {"status": "not ready" if failing else "ready", "failing": failing}
                ).encode()
                content_type = "application/json"
            elif self.path == "/metrics":
                failing_loops()  # sets dbt_worker_loop_up as /readyz would answer now
                status = 200
                body, content_type = metrics.exposition()
            else:
                status, body, content_type = 404, b"", "text/plain"
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args):
            pass

    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)  # noqa: S104 - probes and scrapes
    threading.Thread(target=server.serve_forever, name="health", daemon=True).start()
    return server
