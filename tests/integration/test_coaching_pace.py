"""Coaching's request pace on the real server (FerretDB locally): the per-client limit on
non-crisis requests holds when many api threads (or processes: the count is in the database)
ask at once, and concurrent crisis taps are all answered while they page twice at most."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime

from coaching import repository
from coaching.bootstrap import Components
from coaching.services import directory, pace, requests
from dbt_shared.auth import Principal
from dbt_shared.clock import FixedClock
from dbt_shared.errors import TooManyRequests
from dbt_shared.protection import FieldCipher
from dbt_shared.storage.context import Storage

NOW = datetime(2026, 3, 3, 23, 0, tzinfo=UTC)
CLIENT = Principal(subject="client-1", roles=frozenset({"client"}), sites=frozenset({"site-a"}))


def wiring(db) -> Components:
    repository.ensure_indexes(db)
    clock = FixedClock(NOW)
    storage = Storage(db)
    c = Components(
        repositories=repository.mongo(storage, clock),
        cipher=FieldCipher(os.urandom(32)),
        clock=clock,
        locks=storage.lock,
        storage=storage,
    )
    c.repositories.sites.insert({"_id": "site-a", "timezone": "America/New_York"})
    directory.on_client_admitted(
        {
            "client_id": "client-1",
            "site_id": "site-a",
            "program_id": "prog-a",
            "therapist_id": "tess",
            "admitted_at": "2026-02-01T00:00:00+00:00",
        },
        c,
    )
    return c


def at_once(count: int, work) -> list:
    results: list = []
    guard = threading.Lock()
    start = threading.Barrier(count)

    def run() -> None:
        start.wait()
        try:
            outcome = work()
        except TooManyRequests as refused:
            outcome = refused
        with guard:
            results.append(outcome)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_the_request_limit_holds_under_concurrent_requests(fresh_db):
    c = wiring(fresh_db)
    results = at_once(12, lambda: pace.count_request(c, "client-1", 6, NOW))
    refused = [r for r in results if isinstance(r, TooManyRequests)]
    assert len(results) == 12 and len(refused) == 6
    assert all(int(r.headers["Retry-After"]) == 3600 for r in refused)
    assert c.repositories.pace.get("hour:client-1")["count"] == 6


def test_concurrent_crisis_taps_are_all_answered_and_page_twice_at_most(fresh_db):
    c = wiring(fresh_db)
    results = at_once(6, lambda: requests.create({"kind": "crisis"}, c, CLIENT))
    assert len(results) == 6
    assert all(view["emergency_route"]["number"] == "988" for view, _new in results)
    paged = [view for view, new in results if new]
    assert 1 <= len(paged) <= 2
    stored = fresh_db[repository.REQUESTS].count_documents({"client_id": "client-1"})
    assert stored == len(paged)
