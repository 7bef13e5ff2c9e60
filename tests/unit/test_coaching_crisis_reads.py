"""A crisis request reads the asking client's record with their site's settings and who is on
call there, all at once: the page waits for one round of reads, not the client's read and then
the site's (coaching's api on its in-memory wiring, with a storage that makes reads at once)."""

from __future__ import annotations

import threading

import pytest
from test_coaching_api import NOW, SITE, rota, seed

from coaching.app import create_app
from dbt_shared.clock import FixedClock
from dbt_shared.storage.context import Storage


class AtOnce:
    """The process storage's ``together`` (a pool of readers), and nothing else of it."""

    def __init__(self) -> None:
        self._storage = Storage(None, write_lock=False)  # type: ignore[arg-type]

    def together(self, **reads):
        return self._storage.together(**reads)


def _first_call_waits(owner, name: str, barrier: threading.Barrier, seen: set) -> None:
    """``owner.name`` waits at ``barrier`` on its first call: the barrier lets them through
    only when all the reads it counts are in flight at the same moment."""
    read = getattr(owner, name)

    def waiting(*args, **kwargs):
        if (id(owner), name) not in seen:
            seen.add((id(owner), name))
            barrier.wait()
        return read(*args, **kwargs)

    setattr(owner, name, waiting)


@pytest.fixture
def clock():
    return FixedClock(NOW)


def test_a_crisis_reads_the_client_with_the_sites_on_call_in_one_round(api_env, auth, clock):
    components = seed(clock)
    api = create_app(components).test_client()
    api.put(f"/v1/sites/{SITE}/rota", json=rota(), headers=auth("coordinator", SITE))
    components.storage = AtOnce()
    r = components.repositories
    all_in, seen = threading.Barrier(6, timeout=5), set()
    for owner, name in (
        (r, "client"),
        (r.settings, "get"),
        (r, "site"),
        (r.rotas, "get"),
        (r, "overrides_of"),
        (r, "time_off_of_site"),
    ):
        _first_call_waits(owner, name, all_in, seen)

    crisis = api.post(
        "/v1/coaching-requests", json={"kind": "crisis"}, headers=auth("client", [SITE], "client-1")
    )

    assert crisis.status_code == 201, crisis.json
    assert crisis.json["emergency_route"]["number"] == "988"
    assert sorted(crisis.json["notified"]) == ["bea", "pat"]
    assert crisis.json.get("unverified", []) == []
