"""A worker's readiness (``/readyz`` on its metrics port) sees a loop that hangs, not only one
that raises: a timer whose job never returns, a relay whose publish never returns. Liveness
(``/healthz``) stays up meanwhile, and the manifests probe readiness on ``/readyz``.

The loops are the worker's own (``dbt_shared.worker``'s timer loop, the outbox relay's run) on
their own threads; the clock that measures a pass is a fake one, moved by the test, so nothing
waits for a stall limit to pass.
"""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from stand_in_broker import Broker, DeadLetters, record, referral, runner_on
from test_k8s_console import _overlay

from dbt_shared import loop_health
from dbt_shared import worker as worker_module
from dbt_shared.contracts import intake
from dbt_shared.events.relay import OutboxRelay
from dbt_shared.worker import Timer
from support import wait_until

STALL_S = 120


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0
        self.passes = loop_health.LoopPasses(now=self)  # the worker's, on this clock

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeMonotonic:
    return FakeMonotonic()


class Probe:
    """The worker's health server over the given loops, as ``run_worker`` serves it."""

    def __init__(self, passes, loops: dict, *, relay=None, consumers=None) -> None:
        self.stop = threading.Event()
        self.threads = {
            name: threading.Thread(target=fn, name=name, daemon=True) for name, fn in loops.items()
        }
        for thread in self.threads.values():
            thread.start()
        relay = relay or SimpleNamespace(healthy=True)
        failing = worker_module._failing_loops(consumers or {}, relay, STALL_S, passes)
        readiness = worker_module._reporting("svc", self.threads, failing, passes)
        self.server = worker_module._serve_health_and_metrics(0, self.threads, readiness)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def get(self, path: str) -> requests.Response:
        return requests.get(self.url + path, timeout=5)

    def close(self) -> None:
        self.stop.set()
        self.server.shutdown()


@pytest.fixture
def probes(clock):
    made: list[Probe] = []
    yield lambda *a, **k: made.append(Probe(clock.passes, *a, **k)) or made[-1]
    for probe in made:
        probe.close()


def busy_seconds(exposition: str) -> dict[str, float]:
    """``dbt_worker_loop_busy_seconds`` by loop, as Prometheus reads the worker's /metrics."""
    return {
        sample.labels["loop"]: sample.value
        for family in text_string_to_metric_families(exposition)
        if family.name == "dbt_worker_loop_busy_seconds"
        for sample in family.samples
        if sample.labels["service"] == "svc"
    }


def _ctx(stop: threading.Event, clock: FakeMonotonic):
    return SimpleNamespace(stop=stop, passes=clock.passes)


def test_a_timer_stuck_in_its_job_makes_the_worker_not_ready_until_it_returns(clock, probes):
    release, entered = threading.Event(), threading.Event()

    def hangs(_ctx):
        entered.set()
        release.wait()  # a call that does not return (a lock, a socket without a timeout)

    stop = threading.Event()
    loop = worker_module._timer_loop(Timer("reminders", 1, hangs), _ctx(stop, clock))
    probe = probes({"timer:reminders": loop})
    entered.wait(5)
    assert probe.get("/readyz").status_code == 200  # in its pass, not for long yet

    clock.now += STALL_S + 1
    answer = probe.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["failing"] == ["timer:reminders"]
    assert probe.get("/healthz").status_code == 200  # alive: a restart is not the cure
    assert busy_seconds(probe.get("/metrics").text)["timer:reminders"] == STALL_S + 1

    release.set()  # the call returns: the loop waits for its next pass, the worker is ready
    wait_until(lambda: probe.get("/readyz").status_code == 200, 5, "ready again")
    stop.set()


def test_a_timer_waiting_a_long_interval_for_its_next_run_is_not_stuck(clock, probes):
    ran = threading.Event()

    def quick(_ctx):
        ran.set()

    stop = threading.Event()
    loop = worker_module._timer_loop(Timer("housekeeping", 3600, quick), _ctx(stop, clock))
    probe = probes({"timer:housekeeping": loop})
    ran.wait(5)
    wait_until(lambda: clock.passes.busy_for("timer:housekeeping") == 0, 5, "the wait")
    clock.now += 10 * STALL_S  # an hour between runs is its interval, not a stall
    assert probe.get("/readyz").status_code == 200
    stop.set()


class _HangingCollection:
    def __init__(self, entered: threading.Event, release: threading.Event) -> None:
        self.entered, self.release = entered, release

    def create_index(self, *_a, **_k):
        return "index"

    def count_documents(self, *_a, **_k):
        return 0

    def find(self, *_a, **_k):
        self.entered.set()
        self.release.wait()  # the database holds the sweep's read
        return []


class _Db:
    def __init__(self, collection) -> None:
        self.collection = collection

    def command(self, *_a, **_k):
        return {"n": 0}

    def __getitem__(self, _name):
        return self.collection


def test_a_relay_stuck_in_its_sweep_makes_the_worker_not_ready(clock, probes):
    entered, release = threading.Event(), threading.Event()
    stop = threading.Event()
    relay = OutboxRelay(
        _Db(_HangingCollection(entered, release)),
        ["things"],
        publisher=None,
        service="svc",
        passes=clock.passes,
    )
    probe = probes({"relay": lambda: relay.run(stop)}, relay=relay)
    entered.wait(5)
    clock.now += STALL_S + 1
    answer = probe.get("/readyz")
    assert (answer.status_code, answer.json()["failing"]) == (503, ["relay"])
    assert relay.healthy  # it raised nothing: only its pass's age tells
    stop.set()
    release.set()
    wait_until(lambda: probe.get("/readyz").status_code == 200, 5, "the sweep to end")


def test_a_consumer_lane_stuck_in_a_handler_makes_the_worker_not_ready(clock, probes, monkeypatch):
    entered, release = threading.Event(), threading.Event()

    def hangs(_event, _data, _ctx):
        entered.set()
        release.wait()  # e.g. a call to another service without a timeout

    broker = Broker(polls=[[record(referral("site-a"), 10)]])
    handlers = {intake.REFERRAL_RECEIVED: hangs}
    runner = runner_on(broker, handlers, DeadLetters(), monkeypatch, passes=clock.passes)
    probe = probes({"consumer": runner.run}, consumers={"consumer": runner})
    entered.wait(5)
    clock.now += STALL_S + 1
    answer = probe.get("/readyz")
    assert (answer.status_code, answer.json()["failing"]) == (503, ["consumer"])
    assert runner.healthy  # its broker answers: only the pass's age tells
    release.set()  # handled; the stand-in broker has no more records and stops the runner
    wait_until(lambda: probe.get("/readyz").status_code == 200, 5, "the lane to go round")


def test_the_stall_limit_is_a_setting(monkeypatch):
    monkeypatch.setenv("WORKER_STALL_S", "300")
    assert worker_module.stall_limit_s() == 300
    monkeypatch.delenv("WORKER_STALL_S")
    assert worker_module.stall_limit_s() == STALL_S


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_the_manifests_probe_a_workers_readiness_on_readyz_and_its_liveness_on_healthz(overlay):
    docs = _overlay(overlay)
    workers = [
        d
        for d in docs
        if d["kind"] == "Deployment"
        and d["metadata"]["labels"].get("app.kubernetes.io/component") == "worker"
    ]
    assert len(workers) == 4
    for deployment in workers:
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        port = {"name": "metrics", "containerPort": 9100, "protocol": "TCP"}
        assert port in container["ports"]
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
