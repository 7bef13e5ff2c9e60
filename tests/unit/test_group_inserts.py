"""Grouped inserts (``dbt_shared.storage.group_inserts``): concurrent callers' documents written
together, each caller answered for its own documents only."""

from __future__ import annotations

import threading
import time

import pytest
from pymongo.errors import AutoReconnect, BulkWriteError, DuplicateKeyError

from dbt_shared.storage.group_inserts import GroupInserts


class SlowCollection:
    """A collection whose ``insert_many`` takes a moment (unit tests only)."""

    def __init__(self, fail: BaseException | None = None) -> None:
        self.stored: dict[str, dict] = {}
        self.writes: list[int] = []
        self.fail = fail
        self._lock = threading.Lock()

    def insert_many(self, documents, ordered=True):
        assert ordered is False
        time.sleep(0.005)
        if self.fail is not None:
            raise self.fail
        errors = []
        with self._lock:
            self.writes.append(len(documents))
            for index, document in enumerate(documents):
                if document["_id"] in self.stored:
                    errors.append({"index": index, "code": 11000, "errmsg": "duplicate key"})
                else:
                    self.stored[document["_id"]] = document
        if errors:
            raise BulkWriteError({"writeErrors": errors})


def run_together(callers):
    threads = [threading.Thread(target=caller) for caller in callers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)


def test_concurrent_callers_share_writes_and_each_returns_once_its_document_is_stored():
    collection = SlowCollection()
    group = GroupInserts(collection)
    returned = []

    def caller(n):
        def run():
            group.insert_one({"_id": f"d{n}"})
            returned.append(f"d{n}" in collection.stored)  # stored before it returned

        return run

    run_together([caller(n) for n in range(40)])

    assert sorted(collection.stored) == sorted(f"d{n}" for n in range(40))
    assert returned == [True] * 40
    assert len(collection.writes) < 40  # some callers' documents went in one write


def test_a_duplicate_is_told_to_its_caller_only():
    collection = SlowCollection()
    collection.stored["taken"] = {"_id": "taken"}
    group = GroupInserts(collection)
    outcomes = {}

    def caller(name, documents):
        def run():
            try:
                group.insert_many(documents)
                outcomes[name] = "stored"
            except BulkWriteError as exc:
                outcomes[name] = [e["index"] for e in exc.details["writeErrors"]]

        return run

    def single():
        try:
            group.insert_one({"_id": "taken"})
        except DuplicateKeyError:
            outcomes["single"] = "duplicate"

    callers = [caller(f"c{n}", [{"_id": f"c{n}-a"}, {"_id": f"c{n}-b"}]) for n in range(10)]
    callers.append(caller("mixed", [{"_id": "mixed-a"}, {"_id": "taken"}, {"_id": "mixed-c"}]))
    run_together([*callers, single])

    assert outcomes.pop("mixed") == [1]  # its own index of the one not stored
    assert outcomes.pop("single") == "duplicate"
    assert set(outcomes.values()) == {"stored"}
    assert {"mixed-a", "mixed-c"} <= set(collection.stored)


def test_a_failed_write_fails_every_caller_in_it_and_the_next_caller_writes_again():
    collection = SlowCollection(fail=AutoReconnect("the server went away"))
    group = GroupInserts(collection)
    failures = []

    def caller(n):
        def run():
            try:
                group.insert_one({"_id": f"d{n}"})
            except AutoReconnect:
                failures.append(n)

        return run

    run_together([caller(n) for n in range(10)])
    assert sorted(failures) == list(range(10))

    collection.fail = None
    group.insert_one({"_id": "after"})
    assert "after" in collection.stored


@pytest.mark.parametrize("size", [1, 3])
def test_a_lone_caller_writes_at_once(size):
    collection = SlowCollection()
    GroupInserts(collection).insert_many([{"_id": f"d{n}"} for n in range(size)])
    assert collection.writes == [size]


def test_an_answer_it_cannot_read_fails_its_callers_and_the_group_writes_on():
    class Odd(SlowCollection):
        def insert_many(self, documents, ordered=True):
            if self.fail is not None:
                raise BulkWriteError({"writeErrors": [{"index": 99, "code": 2}]})
            return super().insert_many(documents, ordered)

    collection = Odd(fail=RuntimeError("unused"))
    group = GroupInserts(collection)
    with pytest.raises(BulkWriteError):
        group.insert_one({"_id": "a"})
    collection.fail = None
    group.insert_one({"_id": "b"})  # not stuck behind the failed write
    assert list(collection.stored) == ["b"]
