"""Load for ``make bench``: open-loop schedules, closed-loop clients, HTTP calls, percentiles.

Open loop: call ``i`` is due at ``start + i / rate`` whether or not earlier calls have been
answered (a thread pool sends them), and its latency counts from when it was due, so a slow
server cannot hide its queue by slowing the client down. Closed loop: ``clients`` threads, each
sending its next call as soon as the last one is answered.
"""

from __future__ import annotations

import http.client
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass(frozen=True)
class Outcome:
    """One call: when it was due (wall clock), how long until answered, what it answered."""

    due_at: float  # time.time() of the moment it was due (open loop) or sent (closed loop)
    seconds: float
    result: Any  # the call's answer, or the exception it raised
    ok: bool


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: what the bench reads of it."""

    status_code: int
    content: bytes

    @property
    def ok(self) -> bool:
        return self.status_code < 400

    @property
    def text(self) -> str:
        return self.content.decode(errors="replace")

    def json(self) -> Any:
        return json.loads(self.content)


class Http:
    """Calls with a bearer token over one keep-alive connection per thread (``http.client``:
    the load generator shares the machine with the stack, so it spends as little CPU per call
    as it can; ``requests`` costs about three times as much)."""

    IDLE_S = 4.0  # the apis keep an idle connection 5 s: one idle longer is opened again

    def __init__(self, token: str) -> None:
        self.headers = {"Authorization": f"Bearer {token}"}
        self._local = threading.local()

    def _connection(self, netloc: str) -> http.client.HTTPConnection:
        connections = getattr(self._local, "connections", None)
        if connections is None:
            connections = self._local.connections = {}
        known = connections.get(netloc)
        if known is not None and time.monotonic() - known[1] < self.IDLE_S:
            return known[0]
        if known is not None:
            known[0].close()
        host, _, port = netloc.partition(":")
        connection = http.client.HTTPConnection(host, int(port or 80), timeout=30)
        connections[netloc] = (connection, time.monotonic())
        return connection

    def _call(self, method: str, url: str, body: bytes | None, headers: dict[str, str]) -> Answer:
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        connection = self._connection(parts.netloc)
        try:
            connection.request(method, target, body=body, headers={**self.headers, **headers})
            response = connection.getresponse()
            answer = Answer(response.status, response.read())
        except (OSError, http.client.HTTPException):
            self._local.connections.pop(parts.netloc, None)
            connection.close()
            raise
        self._local.connections[parts.netloc] = (connection, time.monotonic())
        return answer

    def get(self, url: str) -> Answer:
        return self._call("GET", url, None, {})

    def post(self, url: str, body: dict[str, Any]) -> Answer:
        return self._call(
            "POST", url, json.dumps(body).encode(), {"Content-Type": "application/json"}
        )

    def put(self, url: str, body: dict[str, Any]) -> Answer:
        return self._call(
            "PUT", url, json.dumps(body).encode(), {"Content-Type": "application/json"}
        )

    def created(self, url: str, body: dict[str, Any]) -> str:
        """POST that must answer 201; the new resource's id."""
        response = self.post(url, body)
        if response.status_code != 201:
            raise RuntimeError(f"POST {url} answered {response.status_code}: {response.text[:300]}")
        return response.json()["id"]

    def ok(self, url: str) -> bool:
        return self.get(url).status_code == 200


def referral_body(site_id: str) -> dict[str, Any]:
    """A referral as a coordinator would record it; a made-up client."""
    n = uuid.uuid4().hex[:10]
    return {
        "site_id": site_id,
        "program": "adult",
        "source": "bench",
        "consent_to_contact": True,
        "client": {
            "given_name": "Bench",
            "family_name": f"Client{n}",
            "date_of_birth": "1990-01-01",
            "email": f"c{n}@bench.example.org",
            "phone": "+1 312 555 0100",
        },
    }


def _timed(call: Callable[[int], Any], i: int, due_wall: float, due_mono: float) -> Outcome:
    try:
        result, ok = call(i), True
    except Exception as exc:  # an error is a figure too: counted, not raised
        result, ok = exc, False
    if ok and result is False:
        ok = False
    return Outcome(due_wall, time.perf_counter() - due_mono, result, ok)


def open_loop(
    call: Callable[[int], Any], rate: float, seconds: float, workers: int = 32
) -> list[Outcome]:
    """``call(i)`` at ``rate`` per second for ``seconds``; a call answering ``False`` or raising
    counts as failed."""
    count = max(1, round(rate * seconds))
    futures = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        start_mono, start_wall = time.perf_counter() + 0.05, time.time() + 0.05
        for i in range(count):
            offset = i / rate
            pause = start_mono + offset - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            futures.append(pool.submit(_timed, call, i, start_wall + offset, start_mono + offset))
    return [f.result() for f in futures]


def closed_loop(call: Callable[[int], Any], total: int, clients: int) -> list[Outcome]:
    """``total`` calls from ``clients`` threads, each waiting for its answer before the next."""
    numbers = itertools.count()
    lock = threading.Lock()
    outcomes: list[Outcome] = []

    def client() -> None:
        while True:
            with lock:
                i = next(numbers)
            if i >= total:
                return
            outcome = _timed(call, i, time.time(), time.perf_counter())
            with lock:
                outcomes.append(outcome)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes
