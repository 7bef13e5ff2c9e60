"""Intake's display names for a list page read each client by its id (the ``_id`` index, an
equality FerretDB pushes down), never with an ``$in``, which FerretDB answers by reading the
whole referrals collection: the console's list pages waited seconds for their names."""

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

    def get(self, document_id):
        self.queries.append({"_id": document_id})
        return self.store.get(document_id)

    def find(self, query, projection=None, sort=None, limit=0):
        self.queries.append(query)
        return self.store.find(query, projection, sort, limit)

    def __getattr__(self, name):
        return getattr(self.store, name)


def _equalities(query: dict[str, Any]) -> bool:
    return all(not isinstance(v, dict) and not k.startswith("$") for k, v in query.items())


def test_a_pages_names_are_read_by_id_each_an_equality_not_an_in(clock):
    from intake.services import organisation

    c = bootstrap.in_memory(clock)
    site_id = "site-1"
    organisation.register_site(SITE, c, site_id)
    coordinator = Principal("carla", frozenset({"coordinator"}), frozenset({site_id}))
    ids = []
    for n in range(3):
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
    spy = Reads(c.repositories.referrals)
    c.repositories.referrals = spy

    names = lookups.display_names([*ids, "no-such-client"], c, coordinator)

    assert [n["display_name"] for n in names] == [
        "Client0 Rivera",
        "Client1 Rivera",
        "Client2 Rivera",
    ]
    assert spy.queries and all(_equalities(q) for q in spy.queries), spy.queries
