"""Filtered lists on the real server (FerretDB locally): the indexes are made where the service
makes its others, and a sparse filter over a long history answers its page by reading its own
list's buckets (a query or two), not every bucket of the unfiltered list."""

from __future__ import annotations

from datetime import UTC, datetime

from dbt_shared import audit
from dbt_shared.auth import Principal
from dbt_shared.clock import FixedClock
from dbt_shared.storage import listing
from dbt_shared.storage.context import Storage

CLOCK = FixedClock(datetime(2026, 3, 3, 15, 0, tzinfo=UTC))


class Counting:
    def __init__(self, store) -> None:
        self.store, self.queries = store, []

    def find(self, query, projection=None, sort=None, limit=0):
        self.queries.append(query)
        return self.store.find(query, projection, sort=sort, limit=limit)


def test_one_actors_records_among_a_long_trail_are_read_from_their_own_list(fresh_db):
    audit.ensure_indexes(fresh_db)
    assert {"actor_trail", "object_trail"} <= set(
        fresh_db[audit.AUDIT_COLLECTION].index_information()
    )
    log = audit.MongoAuditLog(Storage(fresh_db), CLOCK)
    busy = Principal("busy", frozenset({"coordinator"}), frozenset({"s1"}))
    rare = Principal("rare", frozenset({"coordinator"}), frozenset({"s1"}))
    wanted = []
    for n in range(listing.BUCKET_SIZE * 3):
        log.record(busy, action="x.read", object_type="x", object_id=str(n), site_id="s1")
        if n in (4, listing.BUCKET_SIZE * 3 - 2):
            wanted.append(
                log.record(rare, action="x.read", object_type="x", object_id="r", site_id="s1")
            )
    log.trail = Counting(log.trail)

    items, cursor = log.page({"actor": "rare"}, limit=50, cursor=None)

    assert [i["_id"] for i in items] == [w["_id"] for w in wanted] and cursor is None
    assert len(log.trail.queries) == 1 and "actor_bucket" in log.trail.queries[0]
