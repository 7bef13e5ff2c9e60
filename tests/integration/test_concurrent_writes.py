"""Concurrent writers on one document never lose a write, on the server the tests run against.

Eight writers each save twenty read-modify-write changes to the same document through the
repository's guarded save, retrying on conflict. Every save that reported success took effect,
and every loser was told (``StaleWrite``): the count equals the successes.
"""

from __future__ import annotations

import threading

from dbt_shared.errors import StaleWrite
from dbt_shared.storage.context import Storage
from support import wait_until

WRITERS = 8
ROUNDS = 20


def test_concurrent_guarded_saves_keep_every_success(fresh_db):
    store = Storage(fresh_db).documents("counters", "counter")
    store.insert({"_id": "c1", "count": 0, "by": []})
    successes: list[str] = []
    conflicts: list[str] = []
    guard = threading.Lock()

    def writer(number: int) -> None:
        for round_ in range(ROUNDS):
            mark = f"{number}-{round_}"
            while True:
                document = store.get("c1")
                document["count"] += 1
                document["by"] = [*document["by"], mark]
                try:
                    store.save(document)
                except StaleWrite:
                    with guard:
                        conflicts.append(mark)
                    continue
                with guard:
                    successes.append(mark)
                break

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    stored = store.get("c1")
    assert len(successes) == WRITERS * ROUNDS
    assert stored["count"] == len(successes), f"{len(successes)} reported, {stored['count']} kept"
    assert sorted(stored["by"]) == sorted(successes)
    assert conflicts, "eight writers on one document should have met at least once"


def test_concurrent_batch_and_single_saves_keep_every_success(fresh_db):
    """``save_many`` (one bulk write for several documents) against single saves and other
    batches on the same documents: per document, what was kept is exactly what was reported."""
    store = Storage(fresh_db).documents("counters", "counter")
    names = [f"c{n}" for n in range(4)]
    for name in names:
        store.insert({"_id": name, "count": 0, "by": []})
    kept: dict[str, list[str]] = {name: [] for name in names}
    lost_races = []
    guard = threading.Lock()

    def change(document, mark):
        return {**document, "count": document["count"] + 1, "by": [*document["by"], mark]}

    def batch_writer(number: int) -> None:
        for round_ in range(ROUNDS):
            mark = f"b{number}-{round_}"
            changes = [(change(store.get(name), mark), ()) for name in names]
            for (document, _events), stored in zip(changes, store.save_many(changes), strict=True):
                with guard:
                    if stored is None:
                        lost_races.append(mark)
                    else:
                        assert stored["_rev"] == document["_rev"] + 1
                        kept[document["_id"]].append(mark)

    def single_writer(number: int) -> None:
        for round_ in range(ROUNDS):
            mark = f"s{number}-{round_}"
            name = names[round_ % len(names)]
            try:
                store.save(change(store.get(name), mark))
            except StaleWrite:
                with guard:
                    lost_races.append(mark)
                continue
            with guard:
                kept[name].append(mark)

    threads = [threading.Thread(target=batch_writer, args=(n,)) for n in range(WRITERS // 2)]
    threads += [threading.Thread(target=single_writer, args=(n,)) for n in range(WRITERS // 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    for name in names:
        stored = store.get(name)
        assert stored["count"] == len(kept[name]), f"{name}: {len(kept[name])} reported"
        assert sorted(stored["by"]) == sorted(kept[name])
    assert lost_races, "eight writers on four documents should have met at least once"
    assert sum(map(len, kept.values())) > len(names) * ROUNDS  # the batches wrote too


def test_save_many_writes_events_and_answers_a_conflict_for_a_stale_document(fresh_db):
    from dbt_shared.events.envelope import Event

    store = Storage(fresh_db).documents("things", "thing")
    for name in ("a", "b", "c"):
        store.insert({"_id": name, "n": 0})
    stale = store.get("b")
    store.save({**store.get("b"), "n": 5})  # b moved on since ``stale`` was read
    store.storage.deferred.sweep()  # and its revision's lock is gone: only the update can tell
    event = Event(type="thing.changed", source="tests", subject="a", key="a", data={})
    changes = [({**store.get("a"), "n": 1}, [event]), ({**stale, "n": 1}, ())]
    results = store.save_many([*changes, ({**store.get("c"), "n": 1}, ())])
    assert [r is not None for r in results] == [True, False, True]
    assert [store.get(x)["n"] for x in ("a", "b", "c")] == [1, 5, 1]
    assert [e["id"] for e in store.get("a")["_outbox"]] == [event.id]
    store.storage.deferred.sweep()  # the revisions' locks go with the next sweep: none is left
    assert fresh_db["document_locks"].count_documents({}) == 0


def _adjust_many(uri: str, db_name: str, times: int) -> None:
    from pymongo import MongoClient

    client = MongoClient(uri)
    tallies = Storage(client[db_name]).tallies()

    def thread() -> None:
        for _ in range(times):
            tallies.adjust("waitlist:site-1:adult", {"received": 1}, site_id="site-1")

    threads = [threading.Thread(target=thread) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    tallies.pending.flush()  # what a process adjusted is written before it exits
    client.close()


def test_concurrent_tally_adjustments_from_several_processes_lose_nothing(fresh_db, infra):
    import multiprocessing

    tallies = Storage(fresh_db).tallies()
    uri = infra.mongodb_uri
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_adjust_many, args=(uri, fresh_db.name, ROUNDS)) for _ in range(4)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert all(w.exitcode == 0 for w in workers)
    assert tallies.get("waitlist:site-1:adult")["received"] == 4 * 3 * ROUNDS

    # the recount folds every process's document into one, exact
    tallies.reconcile("waitlist:site-1:adult", lambda: {"received": 7}, site_id="site-1")
    assert tallies.get("waitlist:site-1:adult")["received"] == 7
    assert fresh_db["tallies"].count_documents({"key": "waitlist:site-1:adult"}) == 1


def test_a_process_reads_its_own_adjustments_at_once_and_writes_them_a_moment_later(fresh_db):
    tallies = Storage(fresh_db).tallies()
    for _ in range(50):
        tallies.adjust("waitlist:site-2:adult", {"received": 1}, site_id="site-2", kind="waitlist")
    tallies.adjust("waitlist:site-2:adult", {"received": -1, "screening": 1}, site_id="site-2")
    assert tallies.get("waitlist:site-2:adult") == {
        "site_id": "site-2",
        "kind": "waitlist",
        "received": 49,
        "screening": 1,
    }
    [found] = tallies.find({"site_id": "site-2", "kind": "waitlist"})
    assert (found["key"], found["received"], found["screening"]) == ("waitlist:site-2:adult", 49, 1)

    def stored() -> bool:  # what another process reads: the database alone
        docs = list(fresh_db["tallies"].find({"key": "waitlist:site-2:adult"}))
        return sum(d.get("received", 0) for d in docs) == 49 and len(docs) == 1

    wait_until(stored, timeout=5, what="the adjustments written")
    assert tallies.get("waitlist:site-2:adult")["received"] == 49  # once, not pending and stored
