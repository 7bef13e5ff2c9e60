"""A document placed in several lists takes its numbers of each at once (the crisis path's
audit record is in three), and a list's take never waits for another list's counter write."""

from __future__ import annotations

import threading

from dbt_shared.storage import listing
from dbt_shared.storage.context import Storage


class _Counters:
    """``list_counters`` whose writes wait until ``together`` of them are in flight at once."""

    def __init__(self, together: int) -> None:
        self.in_flight = threading.Barrier(together, timeout=5)
        self.taken: dict[str, int] = {}
        self._lock = threading.Lock()

    def find_one_and_update(self, query, update, upsert, return_document):
        self.in_flight.wait()  # a BrokenBarrierError unless the writes are made at once
        with self._lock:
            key = query["_id"]
            self.taken[key] = self.taken.get(key, 0) + update["$inc"]["taken"]
            return {"_id": key, "taken": self.taken[key]}


class _Database:
    def __init__(self, counters: _Counters) -> None:
        self.counters = counters

    def __getitem__(self, _name: str) -> _Counters:
        return self.counters


def test_a_document_in_three_lists_advances_their_counters_at_once():
    storage = Storage(None, write_lock=False)  # type: ignore[arg-type]  # (no database asked)
    numbers = listing.MongoSequences(_Database(_Counters(3)), storage.together)  # type: ignore[arg-type]
    record = {"_id": "audit-1"}
    listing.place(record, numbers, {"bucket": "all", "site_bucket": "s1", "actor_bucket": "a1"})
    assert (record["bucket"], record["site_bucket"], record["actor_bucket"]) == (0, 0, 0)


class _SlowFor(listing.InMemorySequences):
    """Numbers whose counter write for ``slow`` waits until released."""

    def __init__(self, slow: str) -> None:
        super().__init__()
        self.slow, self.writing, self.release = slow, threading.Event(), threading.Event()

    def take_many(self, key: str, count: int) -> int:
        if key == self.slow:
            self.writing.set()
            self.release.wait(10)
        return super().take_many(key, count)


def test_a_take_of_one_list_does_not_wait_for_another_lists_counter_write():
    inner = _SlowFor("deliveries:site:s1")
    blocks = listing.BlockSequences(inner)
    slow = threading.Thread(target=blocks.take, args=("deliveries:site:s1",), daemon=True)
    slow.start()
    assert inner.writing.wait(5)
    taken = threading.Event()
    other = threading.Thread(target=lambda: (blocks.take("inbox:site:s2"), taken.set()))
    other.start()
    try:
        assert taken.wait(5), "the other list's number came while the first write was slow"
    finally:
        inner.release.set()
        slow.join(5)
        other.join(5)
    assert blocks.take("deliveries:site:s1") == 1, "the slow list's block serves the next take"


def test_two_fields_of_one_list_get_two_numbers():
    numbers = listing.InMemorySequences()
    doc = {"_id": "x"}
    listing.place(doc, numbers, {"first": "k", "second": "k"})
    assert numbers.top("k") == 1 and {doc["first"], doc["second"]} == {0}
