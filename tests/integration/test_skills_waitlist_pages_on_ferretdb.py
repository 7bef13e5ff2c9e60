"""Skills-group's waitlist in pages on the server the tests run against (FerretDB locally): the
keyset on (admitted_at, _id) continues where the page before ended, ties on the admission time
broken by id, a client placed meanwhile not shown, every page one equality on ``site_waiting``
plus the keyset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dbt_shared.clock import FixedClock
from dbt_shared.storage.context import Storage
from skills_group import repository
from skills_group.domain import statuses

SITE, OTHER = "site-w", "site-x"


def test_the_waitlist_pages_continue_where_the_last_ended(fresh_db):
    start = datetime(2027, 1, 4, 12, 0, tzinfo=UTC)
    storage = Storage(fresh_db)
    r = repository.mongo(storage, FixedClock(start))
    repository.ensure_indexes(fresh_db)
    admitted = {"c-5": 5, "c-1": 1, "c-3": 3, "c-2b": 2, "c-2a": 2, "c-4": 4}  # hours after start
    for client_id, hours in admitted.items():
        r.clients.insert(
            {
                "_id": client_id,
                "site_id": SITE,
                "program_id": f"{SITE}:adult",
                "status": statuses.WAITING,
                "admitted_at": start + timedelta(hours=hours),
            }
        )
    r.clients.insert({"_id": "c-0", "site_id": OTHER, "status": statuses.WAITING,
                      "program_id": f"{OTHER}:adult", "admitted_at": start})  # fmt: skip

    first, cursor = r.waiting_page(SITE, None, limit=2, cursor=None)
    assert [w["_id"] for w in first] == ["c-1", "c-2a"]
    placed = r.clients.get("c-3")
    r.clients.save({**placed, "status": "enrolled"})  # placed between two pages
    pages = [first]
    while cursor:
        found, cursor = r.waiting_page(SITE, None, limit=2, cursor=cursor)
        pages.append(found)
    assert [[w["_id"] for w in p] for p in pages] == [["c-1", "c-2a"], ["c-2b", "c-4"], ["c-5"]]


def test_a_made_up_cursor_starts_at_the_front(fresh_db):
    """Any string of the cursor pattern is a place in the list: one naming no client (here a
    NUL, which PostgreSQL under FerretDB refuses in an ``_id`` equality) is the front."""
    start = datetime(2027, 1, 4, 12, 0, tzinfo=UTC)
    storage = Storage(fresh_db)
    r = repository.mongo(storage, FixedClock(start))
    repository.ensure_indexes(fresh_db)
    r.clients.insert({"_id": "c-1", "site_id": SITE, "program_id": f"{SITE}:adult",
                      "status": statuses.WAITING, "admitted_at": start})  # fmt: skip
    for made_up in ("00", "6e6f2d6f6e65"):  # "\x00", "no-one"
        found, cursor = r.waiting_page(SITE, None, limit=2, cursor=made_up)
        assert ([w["_id"] for w in found], cursor) == (["c-1"], None)
