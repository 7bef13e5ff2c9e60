"""Bucketed lists (``storage.listing``): every member once, in order, page by page, each page
reading only the buckets it shows."""

from __future__ import annotations

from datetime import UTC, datetime

from dbt_shared.clock import FixedClock
from dbt_shared.pagination import encode_cursor
from dbt_shared.storage import listing, sequences
from dbt_shared.storage.memory_documents import InMemoryDocumentStore
from dbt_shared.storage.sequences import HEAD_CONFIRM


class CountingStore(InMemoryDocumentStore):
    def __init__(self) -> None:
        super().__init__("row")
        self.queries: list[dict] = []

    def find(self, query, projection=None, sort=None, limit=0):
        self.queries.append(query)
        return super().find(query, projection, sort, limit)


def fill(store, sequences, site: str, n: int, **fields) -> list[str]:
    ids = []
    for i in range(n):
        doc = {"_id": f"{site}-{i:05d}", "site_id": site, **fields}
        listing.place(doc, sequences, {"bucket": f"site:{site}"})
        store.documents[doc["_id"]] = doc
        ids.append(doc["_id"])
    return ids


def walk(store, lanes, sequences, limit: int) -> list[str]:
    seen, cursor = [], None
    while True:
        items, cursor = listing.page(store, lanes, sequences, limit=limit, cursor=cursor)
        seen.extend(item["_id"] for item in items)
        if cursor is None:
            return seen


def waitlist(store, lane, sequences, clock) -> list[str]:
    """Every member of a list with a head, page after page, at ``clock``'s moment."""
    seen, cursor = [], None
    while True:
        items, cursor = listing.page(store, [lane], sequences, limit=20, cursor=cursor, clock=clock)
        seen.extend(item["_id"] for item in items)
        if cursor is None:
            return seen


def test_pages_walk_every_member_once_in_order_across_buckets_and_lanes():
    store, sequences = CountingStore(), listing.InMemorySequences()
    a = fill(store, sequences, "a", 150)
    b = fill(store, sequences, "b", 70)
    lanes = [listing.Lane({"site_id": s}, f"site:{s}", "bucket") for s in ("a", "b")]

    assert walk(store, lanes, sequences, limit=50) == a + b


def test_a_first_page_reads_one_bucket_however_long_the_history():
    store, sequences = CountingStore(), listing.InMemorySequences()
    fill(store, sequences, "a", 5000)
    lane = listing.Lane({"site_id": "a"}, "site:a", "bucket")

    items, cursor = listing.page(store, [lane], sequences, limit=50, cursor=None)

    assert len(items) == 50 and cursor is not None
    assert store.queries == [{"site_id": "a", "bucket": 0}]


def test_a_filter_inside_a_lane_walks_buckets_until_the_page_is_full():
    store, sequences = CountingStore(), listing.InMemorySequences()
    for i in range(300):
        doc = {"_id": f"r{i:04d}", "site_id": "a", "status": "open" if i % 10 == 0 else "x"}
        listing.place(doc, sequences, {"bucket": "site:a"})
        store.documents[doc["_id"]] = doc
    lane = listing.Lane({"site_id": "a", "status": "open"}, "site:a", "bucket")

    assert walk(store, [lane], sequences, limit=7) == [f"r{i:04d}" for i in range(0, 300, 10)]


def test_a_made_up_cursor_is_a_place_in_the_list():
    store, sequences = CountingStore(), listing.InMemorySequences()
    ids = fill(store, sequences, "a", 100)
    lane = listing.Lane({"site_id": "a"}, "site:a", "bucket")

    items, _ = listing.page(store, [lane], sequences, limit=10, cursor=encode_cursor("a-00089"))

    assert [i["_id"] for i in items] == ids[90:]
    assert listing.page(store, [lane], sequences, limit=10, cursor="ff")[0] == []


def test_the_head_passes_emptied_buckets_once_a_second_walk_finds_them_still_empty():
    store, sequences = CountingStore(), listing.InMemorySequences()
    clock = FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    ids = fill(store, sequences, "a", 64 * 5, waiting=True)
    for doc_id in ids[: 64 * 3 + 10]:  # the oldest leave the waitlist
        store.documents[doc_id]["waiting"] = False
    lane = listing.Lane({"site_id": "a", "waiting": True}, "site:a", "bucket", head_key="w:a")

    assert waitlist(store, lane, sequences, clock) == ids[64 * 3 + 10 :]
    assert sequences.head("w:a").bucket == 0  # seen empty once: a write may be on its way
    clock.advance(HEAD_CONFIRM / 2)
    assert waitlist(store, lane, sequences, clock) == ids[64 * 3 + 10 :]
    assert sequences.head("w:a").bucket == 0
    clock.advance(HEAD_CONFIRM)
    assert waitlist(store, lane, sequences, clock) == ids[64 * 3 + 10 :]
    assert sequences.head("w:a").bucket == 3  # buckets 0-2 are empty; bucket 3 still has members
    store.queries.clear()
    items, _ = listing.page(store, [lane], sequences, limit=20, cursor=None, clock=clock)
    assert items[0]["_id"] == ids[64 * 3 + 10]
    assert store.queries[0]["bucket"] == 3


def test_a_member_written_late_into_a_bucket_seen_empty_is_never_passed():
    counter = listing.InMemorySequences()
    blocks = listing.BlockSequences(counter)
    clock = FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    store = CountingStore()
    late = {"_id": "a-late", "site_id": "a", "waiting": True}
    listing.place(late, blocks, {"bucket": "site:a"})  # its number taken, its row not written
    ids = fill(store, blocks, "a", 64 * 5, waiting=False)
    fill(store, blocks, "b", 1)  # another site's list is not this one's
    lane = listing.Lane({"site_id": "a", "waiting": True}, "site:a", "bucket", head_key="w:a")

    assert waitlist(store, lane, blocks, clock) == []
    store.documents[late["_id"]] = late  # written a moment after the walk
    clock.advance(HEAD_CONFIRM * 2)
    assert waitlist(store, lane, blocks, clock) == ["a-late"]
    assert blocks.head("w:a").bucket == 0 and late["bucket"] == 0
    assert len(ids) == 64 * 5


def test_the_head_keeps_the_newest_two_buckets_even_when_empty():
    store, sequences = CountingStore(), listing.InMemorySequences()
    clock = FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    ids = fill(store, sequences, "a", 64 * 2, waiting=False)
    lane = listing.Lane({"site_id": "a", "waiting": True}, "site:a", "bucket", head_key="w:a")

    for _ in range(3):
        assert waitlist(store, lane, sequences, clock) == []
        clock.advance(HEAD_CONFIRM * 2)
    assert sequences.head("w:a").bucket == 0
    store.documents[ids[5]]["waiting"] = True  # a row written late still shows
    assert waitlist(store, lane, sequences, clock) == [ids[5]]


def test_a_retried_placement_keeps_its_bucket():
    sequences = listing.InMemorySequences()
    doc = {"_id": "x"}
    listing.place(doc, sequences, {"bucket": "k"})
    listing.place(doc, sequences, {"bucket": "k"})
    assert doc["bucket"] == 0 and sequences.top("k") == 0


class CountingSequences(listing.InMemorySequences):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def take_many(self, key: str, count: int) -> int:
        self.writes += 1
        return super().take_many(key, count)


def test_a_busy_headless_list_takes_its_numbers_in_blocks_and_lists_every_member_once():
    counter = CountingSequences()
    blocks = listing.BlockSequences(counter)
    store = CountingStore()
    ids = fill(store, blocks, "s1", 1000)
    # 1,000 placements within a block's lifetime: a few counter writes, not one per member
    assert counter.writes < 30
    lane = listing.Lane({"site_id": "s1"}, "site:s1", "bucket")
    assert walk(store, [lane], blocks, limit=50) == ids


def test_a_quiet_headless_list_takes_one_number_at_a_time(monkeypatch):
    counter = CountingSequences()
    blocks = listing.BlockSequences(counter)
    clock = [0.0]
    monkeypatch.setattr(sequences.time, "monotonic", lambda: clock[0])
    numbers = []
    for _ in range(5):  # one placement every ten seconds: each block has run out of time
        numbers.append(blocks.take("site:s1"))
        clock[0] += 10.0
    assert numbers == [0, 1, 2, 3, 4]  # no number given up: its buckets stay full
    assert counter.writes == 5


def test_an_audit_record_written_before_records_named_their_site_is_in_the_whole_trail():
    from dbt_shared import audit

    # The backfill that gives old records their buckets failed on such a record (no site_id).
    assert audit.lanes_of({"_id": "old", "action": "referral.read"}) == {"bucket": audit.ALL}
    assert audit.lanes_of({"_id": "new", "site_id": "s1"}) == {
        "bucket": audit.ALL,
        "site_bucket": audit.site_key("s1"),
    }
