"""Intake's display names for a list page read the clients by their ids (``find_ids``: on
FerretDB one ``_id`` equality per id, made at once, never an ``$in``, which FerretDB answers by
reading the whole referrals collection; tests/integration/test_find_ids_on_ferretdb.py), never
with a query of the service's own: the console's list pages waited seconds for their names."""

from __future__ import annotations

from datetime import date
from typing import Any

from dbt_shared.auth import Principal
from intake import bootstrap
from intake.services import lookups, referrals

SITE = {
    "name": "Northside",
    "timezone": "America/Chicago",
    "intake_email": "intake@northside.example.org",
}


class Reads:
    """The referrals store, with every query it was asked recorded (the store is the real
    in-memory one; only the queries are looked at)."""

    def __init__(self, store) -> None:
        self.store = store
        self.queries: list[dict[str, Any]] = []
        self.answered: list[dict[str, Any]] = []

    def get(self, document_id):
        self.queries.append({"_id": document_id})
        found = self.store.get(document_id)
        self.answered.extend([found] if found else [])
        return found

    def find_ids(self, ids, projection=None):
        self.queries.extend({"_id": i} for i in ids)  # read by id, each an equality
        found = self.store.find_ids(ids, projection)
        self.answered.extend(found)
        return found

    def find(self, query, projection=None, sort=None, limit=0):
        self.queries.append(query)
        found = self.store.find(query, projection, sort, limit)
        self.answered.extend(found)
        return found

    def __getattr__(self, name):
        return getattr(self.store, name)


def _equalities(query: dict[str, Any]) -> bool:
    return all(not isinstance(v, dict) and not k.startswith("$") for k, v in query.items())


def _received(clock, count: int = 3):
    from intake.services import organisation

    c = bootstrap.in_memory(clock)
    site_id = "site-1"
    organisation.register_site(SITE, c, site_id)
    coordinator = Principal("carla", frozenset({"coordinator"}), frozenset({site_id}))
    ids = []
    for n in range(count):
        body = {
            "site_id": site_id,
            "program": "adult",
            "source": "GP",
            "consent_to_contact": True,
            "client": {
                "given_name": f"Client{n}",
                "family_name": "Rivera",
                "date_of_birth": date(1990, 1, 1 + n),
                "email": f"c{n}@example.org",
                "phone": "+1 312 555 0100",
                "language": "en",
                "preferred_channel": "email",
            },
        }
        referrals.receive(body, c, coordinator, f"ref-{n}")
        ids.append(f"ref-{n}")
    return c, coordinator, ids


def test_a_pages_names_are_read_by_id_each_an_equality_not_an_in(clock):
    c, coordinator, ids = _received(clock)
    spy = Reads(c.repositories.referrals)
    c.repositories.referrals = spy

    names = lookups.display_names([*ids, "no-such-client"], c, coordinator)

    assert [n["display_name"] for n in names] == [
        "Client0 Rivera",
        "Client1 Rivera",
        "Client2 Rivera",
    ]
    assert spy.queries and all(_equalities(q) for q in spy.queries), spy.queries


def test_a_name_reads_the_names_and_the_access_fields_not_the_whole_referral(clock):
    """A page's 50 names read 50 referrals: each brings its sealed names and what the access
    rule looks at, not its screenings, history and pending events (many times the size)."""
    c, coordinator, ids = _received(clock, 2)
    spy = Reads(c.repositories.referrals)
    c.repositories.referrals = spy

    names = lookups.display_names(ids, c, coordinator)

    assert [n["display_name"] for n in names] == ["Client0 Rivera", "Client1 Rivera"]
    assert len(spy.answered) == 2
    for state in spy.answered:
        assert {"site_id", "client"} <= set(state)
        assert not {"history", "_outbox", "screenings", "received_at"} & set(state), set(state)
