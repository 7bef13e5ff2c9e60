"""The two guards of a save, each as its ``Storage`` chose it, on the server the tests run
against: the revision in the update's filter alone (MongoDB's guard, ``write_lock=False``) and
the revision's lock taken first (FerretDB's, ``write_lock=True``). That eight concurrent writers
lose nothing through the guard the server gets is ``test_concurrent_writes.py``'s.
"""

from __future__ import annotations

import threading

import pytest

from dbt_shared.errors import StaleWrite
from dbt_shared.storage.context import Storage
from dbt_shared.storage.document_locks import DocumentLock


def test_the_test_server_gets_its_guard(infra, fresh_db):
    """The local stack runs FerretDB (the lock); Testcontainers runs mongo:7 (the filter)."""
    expected = {"local stack": True, "testcontainers": False}.get(infra.origin)
    if expected is None:  # a server given by MONGODB_URI: FerretDB names itself in buildInfo
        expected = "ferretdbVersion" in fresh_db.client.admin.command("buildInfo")
    assert Storage(fresh_db).write_lock is expected


@pytest.mark.parametrize("write_lock", [False, True], ids=["filter", "lock"])
def test_a_stale_save_is_refused_and_writes_nothing(fresh_db, write_lock):
    storage = Storage(fresh_db, write_lock=write_lock)
    store = storage.documents("things", "thing")
    store.insert({"_id": "a", "n": 0, "by": "first"})
    stale = store.get("a")
    store.save({**store.get("a"), "n": 1, "by": "second"})
    with pytest.raises(StaleWrite):
        store.save({**stale, "n": 2, "by": "stale"})
    stored = store.get("a")
    assert (stored["n"], stored["by"], stored["_rev"]) == (1, "second", 1)
    storage.flush()


def test_a_save_through_the_lock_waits_for_its_revisions_lock_and_one_through_the_filter_does_not(
    fresh_db,
):
    filtered = Storage(fresh_db, write_lock=False)
    locking = Storage(fresh_db, write_lock=True)
    by_filter = filtered.documents("things", "thing")
    by_lock = locking.documents("things", "thing")
    by_lock.insert({"_id": "a", "n": 0})

    # Another writer holds revision 0's lock: the filter alone does not look at it.
    other = DocumentLock(fresh_db, "things/a@0")
    assert other.try_acquire()
    by_filter.save({**by_filter.get("a"), "n": 1})
    assert by_filter.get("a")["_rev"] == 1

    # Another writer holds revision 1's lock: a save through the lock waits for it.
    holder = DocumentLock(fresh_db, "things/a@1")
    assert holder.try_acquire()
    outcome: list[object] = []

    def save() -> None:
        try:
            outcome.append(by_lock.save({**by_lock.get("a"), "n": 2}))
        except StaleWrite as exc:
            outcome.append(exc)

    saver = threading.Thread(target=save)
    saver.start()
    saver.join(timeout=0.5)  # far below the lock's 5 s wait: still waiting, nothing written
    assert saver.is_alive()
    assert by_lock.get("a")["n"] == 1

    holder.release()  # that writer gave up: the waiting save takes the lock and writes
    saver.join(timeout=10)
    assert not saver.is_alive()
    assert not isinstance(outcome[0], StaleWrite)
    stored = by_lock.get("a")
    assert (stored["n"], stored["_rev"]) == (2, 2)
    other.release()
    filtered.flush()
    locking.flush()
