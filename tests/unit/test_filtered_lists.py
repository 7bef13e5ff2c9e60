"""A filter a list offers reads a list of its own: a sparse filter over a long history answers
its page in a query or two, each naming its list's bucket field (the index that serves it),
instead of walking every bucket of the unfiltered list (``dbt_shared.storage.listing``)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dbt_shared.audit import InMemoryAuditLog
from dbt_shared.auth import Principal
from dbt_shared.clock import FixedClock
from dbt_shared.ids import new_id
from dbt_shared.storage import listing

CLOCK = FixedClock(datetime(2026, 3, 3, 15, 0, tzinfo=UTC))
HISTORY = listing.BUCKET_SIZE * 3  # three buckets of what the filter does not want


class Counting:
    """A store's ``find``, with every query it was asked written down."""

    def __init__(self, store) -> None:
        self.store, self.queries = store, []

    def find(self, query, projection=None, sort=None, limit=0):
        self.queries.append(query)
        return self.store.find(query, projection, sort=sort, limit=limit)

    def __getattr__(self, name):
        return getattr(self.store, name)


def someone(subject: str) -> Principal:
    return Principal(subject, frozenset({"coordinator"}), frozenset({"s1"}))


def test_one_actors_audit_records_are_a_page_of_their_own():
    log = InMemoryAuditLog(CLOCK)
    rare = []
    for n in range(HISTORY):
        log.record(
            someone("busy"), action="x.read", object_type="x", object_id=f"{n}", site_id="s1"
        )
        if n in (5, HISTORY - 3):
            rare.append(
                log.record(
                    someone("rare"), action="x.read", object_type="x", object_id="r", site_id="s1"
                )["_id"]
            )
    log.trail = Counting(log.trail)

    items, cursor = log.page({"actor": "rare", "site_id": "s1"}, limit=50, cursor=None)

    assert [i["_id"] for i in items] == rare and cursor is None
    assert len(log.trail.queries) == 1, log.trail.queries
    assert all(q["actor"] == "rare" and "actor_bucket" in q for q in log.trail.queries)


@pytest.fixture
def intake(api_env, auth):
    from intake import bootstrap
    from intake.app import create_app

    components = bootstrap.in_memory(CLOCK)
    client = create_app(components).test_client()
    site = client.post(
        "/v1/sites",
        json={"name": "Riverside", "timezone": "America/Chicago", "intake_email": "i@r.example"},
        headers=auth(["operator"], [], "op"),
    ).json["id"]
    return components, client, site


def test_the_audit_trail_offers_type_and_action_filters_only_with_an_object(intake, auth):
    _components, client, _site = intake
    operator = auth(["operator"], [], "op")

    for name in ("object_type=referral", "action=referral.read"):
        refused = client.get(f"/v1/audit?{name}", headers=operator)
        assert refused.status_code == 422
        assert [e["field"] for e in refused.json["errors"]] == [name.split("=")[0]]
        narrowed = client.get(f"/v1/audit?object_id=r1&{name}", headers=operator)
        assert narrowed.status_code == 200


def test_a_rare_status_among_a_sites_referrals_is_a_page_of_its_own(intake, auth):
    from intake.services import referrals

    components, _client, site = intake
    coordinator = Principal("coord", frozenset({"coordinator"}), frozenset({site}))
    body = {
        "site_id": site,
        "program": "adult",
        "source": "GP",
        "consent_to_contact": True,
        "client": {
            "given_name": "A",
            "family_name": "B",
            "date_of_birth": datetime(1990, 1, 2).date(),
            "email": "a@b.example",
            "phone": "+13125550100",
            "preferred_channel": "sms",
            "language": "en",
        },
    }
    ids = [
        referrals.receive(body, components, coordinator, new_id())[0]["_id"] for _ in range(HISTORY)
    ]
    withdrawn = [ids[3], ids[HISTORY - 10]]
    for rid in withdrawn:
        referrals.withdraw(rid, {"reason": "other", "note": None}, components, coordinator)
    components.repositories.rows = Counting(components.repositories.rows)

    items, cursor = referrals.list_referrals(
        {"site_id": site, "status": "withdrawn", "limit": 50, "cursor": None},
        components,
        coordinator,
    )

    assert [i["_id"] for i in items] == withdrawn and cursor is None
    queries = components.repositories.rows.queries
    assert len(queries) == 1, queries  # the adults' list (the adolescents' is empty)
    assert all(q["status"] == "withdrawn" and "status_bucket" in q for q in queries)
    received, _ = referrals.list_referrals(
        {"site_id": site, "status": "received", "limit": 3, "cursor": None},
        components,
        coordinator,
    )
    assert [i["_id"] for i in received] == [ids[0], ids[1], ids[2]]


def test_a_rare_purpose_among_a_sites_deliveries_is_a_page_of_its_own():
    from notifications import bootstrap
    from notifications.services import people

    c = bootstrap.in_memory(CLOCK)

    def delivery(purpose: str) -> dict:
        return {
            "_id": new_id(),
            "site_id": "s1",
            "recipient_id": "client-1",
            "recipient_kind": "client",
            "purpose": purpose,
            "status": "sent",
            "priority_rank": 2,
            "next_attempt_at": CLOCK.now(),
            "created_at": CLOCK.now(),
        }

    wanted = []
    for n in range(HISTORY):
        batch = [delivery("session_reminder")]
        if n in (7, HISTORY - 2):
            batch.append(delivery("crisis_page"))
            wanted.append(batch[-1]["_id"])
        c.repositories.deliveries.add_many(batch)
    c.repositories.deliveries.store = Counting(c.repositories.deliveries.store)
    coordinator = Principal("coord", frozenset({"coordinator"}), frozenset({"s1"}))

    items, cursor = people.list_deliveries(
        {"site_id": "s1", "purpose": "crisis_page", "limit": 50, "cursor": None}, c, coordinator
    )

    assert [i["id"] for i in items] == wanted and cursor is None
    queries = c.repositories.deliveries.store.queries
    assert len(queries) == 1 and "site_purpose_bucket" in queries[0], queries
