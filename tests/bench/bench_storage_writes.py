"""The write-side pairs of ``tests/bench/bench_storage.py``: eight request threads at once
(grouped inserts, list numbers, tally adjustments, saves of one document) and one save alone
(the revision's lock, its deferred delete). A concurrency pair runs in rounds, off and on
alternately; the table shows the median round.
"""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from pymongo.database import Database

from dbt_shared.errors import StaleWrite
from dbt_shared.storage import listing
from dbt_shared.storage.context import Storage
from tests.bench.bench_storage import Plan, Row, interleaved, percentile

WRITERS = 8
INSERTS = 60  # per thread: a burst of referrals, audit records, intents
TAKES = 50  # list numbers per thread
ADJUSTS = 50  # tally adjustments per thread
SAVES = 20  # read-modify-write saves per thread, each retried until it is kept
PAD = "x" * 700  # an inserted document of about 1 KB, as a referral's or an audit record


def _threads(work: Callable[[int], None], count: int = WRITERS) -> float:
    """Wall seconds of ``work(i)`` run on ``count`` threads at once."""
    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return time.perf_counter() - began


def _rounds(plan: Plan, off: Callable[[], Any], on: Callable[[], Any]) -> tuple[list, list]:
    """``plan.rounds`` results of each side, alternating which runs first."""
    offs, ons = [], []
    for i in range(plan.rounds):
        for fn, out in ((off, offs), (on, ons)) if i % 2 == 0 else ((on, ons), (off, offs)):
            out.append(fn())
    return offs, ons


def _median(results: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in results)


def grouped_inserts(storage: Storage, plan: Plan) -> list[Row]:
    """Eight threads inserting at once: one ``insert_one`` each against ``group_inserts``."""

    def burst(grouped: bool) -> dict[str, float]:
        collection = storage.db[f"inserts_{uuid.uuid4().hex[:8]}"]
        collection.insert_one({"_id": "first"})  # the collection exists before the burst
        took: list[float] = []
        guard = threading.Lock()

        def work(thread: int) -> None:
            mine = []
            for n in range(INSERTS):
                document = {"_id": f"{thread}-{n}", "site_id": f"site-{n % 20}", "pad": PAD}
                began = time.perf_counter()
                if grouped:
                    storage.inserts.of(collection).insert_one(document)
                else:
                    collection.insert_one(document)
                mine.append(time.perf_counter() - began)
            with guard:
                took.extend(mine)

        wall = _threads(work)
        collection.drop()
        return {
            "rate": len(took) / wall,
            "p50": percentile(took, 0.5),
            "p99": percentile(took, 0.99),
        }

    offs, ons = _rounds(plan, lambda: burst(False), lambda: burst(True))
    what = f"{WRITERS} threads x {INSERTS} inserts"
    return [
        Row(
            "grouped inserts", f"{what}: throughput", "1 KB", *_pair(offs, ons, "rate"), "/s", True
        ),
        Row("grouped inserts", f"{what}: one insert, p50", "1 KB", *_pair(offs, ons, "p50")),
        Row("grouped inserts", f"{what}: one insert, p99", "1 KB", *_pair(offs, ons, "p99")),
    ]


def _pair(offs: list[dict], ons: list[dict], key: str) -> tuple[float, float]:
    return _median(offs, key), _median(ons, key)


def numbers(db: Database, plan: Plan) -> list[Row]:
    """Eight threads taking list numbers (a new referral's place in its site's list): one
    counter ``$inc`` per number against ``BlockSequences`` (one per block)."""

    def burst(blocks: bool) -> dict[str, float]:
        plain = listing.MongoSequences(db)
        sequences = listing.BlockSequences(plain) if blocks else plain
        key = f"bench:{uuid.uuid4().hex[:8]}"
        taken: list[int] = []
        guard = threading.Lock()

        def work(_thread: int) -> None:
            mine = [sequences.take(key) for _ in range(TAKES)]
            with guard:
                taken.extend(mine)

        wall = _threads(work)
        return {"rate": len(taken) / wall, "twice": len(taken) - len(set(taken))}

    offs, ons = _rounds(plan, lambda: burst(False), lambda: burst(True))
    what = f"{WRITERS} threads x {TAKES} list numbers"
    return [
        Row("block sequences", f"{what}: throughput", "-", *_pair(offs, ons, "rate"), "/s", True),
        Row(
            "block sequences",
            f"{what}: numbers handed out twice",
            "-",
            f"{_median(offs, 'twice'):.0f} of {WRITERS * TAKES}",
            f"{_median(ons, 'twice'):.0f} of {WRITERS * TAKES}",
            "",
        ),
    ]


def tally_adjusts(storage: Storage, plan: Plan) -> list[Row]:
    """Eight threads counting into one tally: ``update_one`` ``$inc`` per change against
    ``tallies.adjust`` (the process's own document, written every 0.1 s); increments lost."""
    kept = storage.tallies()
    db = storage.db
    total = WRITERS * ADJUSTS

    def burst(adapted: bool) -> dict[str, float]:
        key = f"bench:{uuid.uuid4().hex[:8]}"
        if not adapted:  # the document exists: no two first upserts race (a duplicate key)
            db["plain_tallies"].insert_one({"_id": key, "n": 0})

        def work(_thread: int) -> None:
            for _ in range(ADJUSTS):
                if adapted:
                    kept.adjust(key, {"n": 1}, site_id="site-00", kind="bench")
                else:
                    db["plain_tallies"].update_one({"_id": key}, {"$inc": {"n": 1}})

        wall = _threads(work)
        if adapted:
            kept.settle()  # written, as another process would read it
            stored = int(kept.get(key).get("n", 0))
        else:
            stored = int((db["plain_tallies"].find_one({"_id": key}) or {}).get("n", 0))
        return {"per": wall / total, "lost": total - stored}

    offs, ons = _rounds(plan, lambda: burst(False), lambda: burst(True))
    what = f"{WRITERS} threads x {ADJUSTS} adjustments of one tally"
    return [
        Row("tallies", f"{what}: per adjustment", "-", *_pair(offs, ons, "per")),
        Row(
            "tallies",
            f"{what}: increments lost",
            "-",
            f"{_median(offs, 'lost'):.0f} of {total}",
            f"{_median(ons, 'lost'):.0f} of {total}",
            "",
        ),
    ]


class _AtOnce:
    """Deferred deletes made at once (off): the lock deleted by the save that took it."""

    def add(self, collection, document_id) -> None:
        collection.delete_one({"_id": document_id})  # index: _id

    def sweep(self) -> None:
        pass


def locks(db: Database, plan: Plan, twin: Callable[[], object]) -> list[Row]:
    """Eight writers saving one document (each save retried until kept): the revision in the
    filter alone (``Storage(write_lock=False)``, MongoDB's guard) against the revision's lock
    (FerretDB's); what is lost, and what a kept save costs. Then one writer alone: a save's cost
    with and without the lock, and with the lock deleted at once or a moment later."""
    guarded = {kind: Storage(db, write_lock=kind == "lock") for kind in ("revision", "lock")}
    at_once = Storage(db, write_lock=True)
    at_once.deferred = _AtOnce()  # type: ignore[assignment]
    stores = {kind: s.documents("documents", "document") for kind, s in guarded.items()}
    stores["at once"] = at_once.documents("documents", "document")
    stores["lock"].insert({"_id": "warm", "n": 0})
    stores["lock"].save(stores["lock"].get("warm"))  # the locks' collection, for its twin
    guarded["lock"].flush()
    twin()

    def contended(kind: str) -> dict[str, float]:
        store = stores[kind]
        name = f"doc-{uuid.uuid4().hex[:8]}"
        store.insert({"_id": name, "count": 0})
        kept = [0]
        guard = threading.Lock()

        def work(_thread: int) -> None:
            for _ in range(SAVES):
                while True:
                    document = store.get(name)
                    try:
                        store.save({**document, "count": document["count"] + 1})
                    except StaleWrite:
                        continue
                    with guard:
                        kept[0] += 1
                    break

        wall = _threads(work)
        stored = store.get(name)["count"]
        return {"per": wall / kept[0], "lost": kept[0] - stored}

    offs, ons = _rounds(plan, lambda: contended("revision"), lambda: contended("lock"))
    total = WRITERS * SAVES
    what = f"{WRITERS} writers x {SAVES} saves of one document"
    out = [
        Row(
            "revision lock",
            f"{what}: saves reported but lost",
            "-",
            f"{_median(offs, 'lost'):.0f} of {total}",
            f"{_median(ons, 'lost'):.0f} of {total}",
            "",
        ),
        Row("revision lock", f"{what}: per kept save", "-", *_pair(offs, ons, "per")),
    ]

    def spread(kind: str) -> dict[str, float]:
        """Eight writers, each saving a document of its own (requests on different records)."""
        store = stores[kind]
        names = [f"own-{uuid.uuid4().hex[:8]}" for _ in range(WRITERS)]
        for name in names:
            store.insert({"_id": name, "count": 0})

        def work(thread: int) -> None:
            for _ in range(SAVES):
                document = store.get(names[thread])
                store.save({**document, "count": document["count"] + 1})

        return {"rate": WRITERS * SAVES / _threads(work)}

    what = f"{WRITERS} writers x {SAVES} saves, each of its own document: throughput"
    offs, ons = _rounds(plan, lambda: spread("revision"), lambda: spread("lock"))
    out.append(Row("revision lock", what, "-", *_pair(offs, ons, "rate"), "/s", True))
    offs, ons = _rounds(plan, lambda: spread("at once"), lambda: spread("lock"))
    out.append(Row("deferred deletes", what, "-", *_pair(offs, ons, "rate"), "/s", True))
    stores["lock"].insert({"_id": "alone", "count": 0})

    def save(kind: str) -> Callable[[], object]:
        return lambda: stores[kind].save(stores[kind].get("alone"))

    off_s, on_s = interleaved(save("revision"), save("lock"), plan.repeat * 4)
    out.append(Row("revision lock", "one read and save, no contention", "-", off_s, on_s))
    off_s, on_s = interleaved(save("at once"), save("lock"), plan.repeat * 4)
    out.append(Row("deferred deletes", "one read and save, its lock deleted", "-", off_s, on_s))
    for storage in guarded.values():
        storage.flush()
    return out
