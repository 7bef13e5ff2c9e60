"""The pairs ``tests/bench/bench_storage.py`` measures: per engine adaptation, one operation a
user waits for, off (the plain MongoDB way) and on (through ``dbt_shared.storage``).

The listed documents are intake's list rows as ``intake.repository.row_of`` writes them: 20
sites, ids in time order, each site's list in buckets of 64 (``site_bucket``), statuses spread
over the year as ``make seed`` spreads them (six of ten waiting). ``recent`` marks the newest 120
of each site: a list that has lost its front (a status that referrals move on from), where a
walk over the site's buckets finds the front ones empty and a head skips them.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.database import Database

from dbt_shared.pagination import encode_cursor
from dbt_shared.storage import listing, mongo, sequences, tallies
from dbt_shared.storage.context import Storage
from tests.bench.bench_storage import Plan, Row, interleaved

SITES = 20
STAGES = ("received", "screening", "eligible", "needs_review", "orientation", "committed")
SEEDED = (*STAGES, "not_eligible", "admitted", "admitted", "withdrawn")  # as tests/bench/seed.py
RECENT_PER_SITE = 120
PAGE = 50
WRITERS = 8
IDS_PER_DELETE = 20  # a sweep's worth: a quarter second of settled locks or delivered intents
IN_FLIGHT = 1_000  # a collection of what is in flight (intents, locks, a queue)


def _site(n: int) -> str:
    return f"site-{n % SITES:02d}"


def load(db: Database, size: int) -> dict[str, Any]:
    """``size`` list rows with the indexes intake's rows have (and those a plain MongoDB list
    would use), the sites' list counters, the waitlist heads and the waitlist tallies."""
    rows = db["rows"]
    rows.create_index([("site_id", 1), ("site_bucket", 1), ("_id", 1)], name="site_list")
    rows.create_index([("site_id", 1), ("status", 1)], name="site_status")
    rows.create_index([("site_id", 1), ("_id", 1)], name="site_id")  # off: a plain list
    rows.create_index([("site_id", 1), ("waiting", 1), ("_id", 1)], name="site_waiting")
    rows.create_index([("site_id", 1), ("recent", 1), ("_id", 1)], name="site_recent")
    rows.create_index("status", name="status")  # off: the org-wide counts
    per_site = size // SITES
    start = datetime(2026, 1, 1, tzinfo=UTC)
    batch: list[dict[str, Any]] = []
    for n in range(size):
        number = n // SITES  # the row's place in its site's list
        status = SEEDED[(n * 7919 // SITES) % len(SEEDED)]
        waiting = status in STAGES
        batch.append(
            {
                "_id": f"r{n:08d}",
                "site_id": _site(n),
                "site_bucket": listing.bucket_of(number),
                "program": ("adult", "adolescent")[n % 3 == 0],
                "status": status,
                "source": "self",
                "received_at": start + timedelta(minutes=7 * n),
                "therapist_id": f"t-{n % 97}" if not waiting else None,
                "on_caseload": not waiting and n % 2 == 0,
                "waiting": waiting,
                "recent": number >= per_site - RECENT_PER_SITE,
            }
        )
        if len(batch) == 1_000:
            rows.insert_many(batch, ordered=False)
            batch = []
    if batch:
        rows.insert_many(batch, ordered=False)
    first_recent = listing.bucket_of(per_site - RECENT_PER_SITE)
    counters = [{"_id": f"site:{_site(s)}", "taken": per_site} for s in range(SITES)]
    counters += [{"_id": f"recent-head:{_site(s)}", "head": first_recent} for s in range(SITES)]
    db[sequences.COUNTERS].insert_many(counters)
    tallies.ensure_indexes(db)
    kept = Storage(db).tallies()
    for row in rows.find({"waiting": True}, {"site_id": 1, "status": 1}):
        kept.adjust(
            f"waitlist:{row['site_id']}",
            {row["status"]: 1},
            site_id=row["site_id"],
            kind="waitlist",
        )
    kept.settle()
    return {"size": size, "per_site": per_site, "label": f"{size // 1000}k"}


def lists(db: Database, data: dict[str, Any], plan: Plan) -> list[Row]:
    """A site's list (first page, a page in the middle), its waitlist, and a list that lost its
    front: a sorted, limited ``find`` against ``listing.page`` over the buckets; and that last
    list walked from bucket 0 against from its head."""
    rows = db["rows"]
    store = Storage(db).rows("rows")
    numbers = listing.MongoSequences(db)
    site = _site(3)
    middle = data["per_site"] // 2
    after = f"r{middle * SITES + 3:08d}"
    cursor = encode_cursor(f"0.{listing.bucket_of(middle)}.{after}")
    lane = listing.Lane({"site_id": site}, f"site:{site}", "site_bucket")
    waiting = {"site_id": site, "waiting": True}
    waitlist = listing.Lane(waiting, f"site:{site}", "site_bucket", f"waitlist-head:{site}")
    recent = {"site_id": site, "recent": True}
    headless = listing.Lane(recent, f"site:{site}", "site_bucket")
    headed = listing.Lane(recent, f"site:{site}", "site_bucket", f"recent-head:{site}")

    def plain(query: dict[str, Any]) -> Callable[[], object]:
        return lambda: list(rows.find(query).sort("_id", 1).limit(PAGE + 1))

    def paged(lanes: list[listing.Lane], at: str | None = None) -> Callable[[], object]:
        return lambda: listing.page(store, lanes, numbers, limit=PAGE, cursor=at)

    size, per = data["label"], f"{data['per_site']:,}/site"
    out = []
    for operation, off, on in (
        ("a site's list, first page of 50", plain({"site_id": site}), paged([lane])),
        (
            "a site's list, a page in the middle",
            plain({"site_id": site, "_id": {"$gt": after}}),
            paged([lane], cursor),
        ),
        ("a site's waitlist (6 in 10 wait), first page", plain(waiting), paged([waitlist])),
        ("a list that lost its front (newest 120), first page", plain(recent), paged([headed])),
    ):
        off_s, on_s = interleaved(off, on, plan.repeat)
        out.append(Row("buckets", operation, f"{size} {per}", off_s, on_s))
    off_s, on_s = interleaved(paged([headless]), paged([headed]), plan.repeat)
    out.append(
        Row(
            "waitlist head",
            "a list that lost its front: from bucket 0 (off), head (on)",
            size,
            off_s,
            on_s,
        )
    )
    return out


def counts(db: Database, data: dict[str, Any], plan: Plan) -> list[Row]:
    """The six stage counts of a site's waitlist page, and of every site (the figures): one
    ``count_documents`` (or ``count`` command) per stage against one tally read."""
    rows = db["rows"]
    kept = Storage(db).tallies()
    site = _site(5)

    def counted(query: dict[str, Any], command: bool = False) -> Callable[[], object]:
        if command:
            return lambda: [
                db.command("count", "rows", query={**query, "status": s})["n"] for s in STAGES
            ]
        return lambda: [rows.count_documents({**query, "status": s}) for s in STAGES]

    size = data["label"]
    out = []
    for operation, off, on in (
        ("a site's 6 waitlist counts (count_documents)", counted({"site_id": site}), None),
        ("a site's 6 waitlist counts (count command)", counted({"site_id": site}, True), None),
        ("every site's 6 waitlist counts (count_documents)", counted({}), "all"),
    ):
        tags = {"kind": "waitlist"} if on == "all" else {"site_id": site, "kind": "waitlist"}
        off_s, on_s = interleaved(off, lambda tags=tags: kept.find(tags), plan.repeat)
        out.append(Row("tallies", operation, size, off_s, on_s))
    return out


def deletes(
    db: Database, data: dict[str, Any], plan: Plan, twin: Callable[[], object]
) -> list[Row]:
    """A sweep's delete of 20 ids: ``delete_many({_id: {$in}})`` against ``mongo.delete_ids``,
    in the rows (a collection that grew) and, once, in a collection of what is in flight."""
    out = []
    targets = [(db["rows"], data["label"])]
    if data["size"] == 10_000:
        small = db["in_flight"]
        small.insert_many([{"_id": f"i{n:06d}", "topic": "t", "n": n} for n in range(IN_FLIGHT)])
        twin()
        targets.insert(0, (small, f"{IN_FLIGHT // 1000}k"))
    rng = random.Random(3)
    for collection, size in targets:
        ids = sorted(d["_id"] for d in collection.find({}, {"_id": 1}).limit(5_000))
        chosen = rng.sample(ids, IDS_PER_DELETE)
        documents = list(collection.find({"_id": {"$in": chosen}}))

        def put_back(collection=collection, documents=documents) -> None:
            mongo.delete_ids(collection, [d["_id"] for d in documents])
            collection.insert_many(documents, ordered=False)

        off_s, on_s = interleaved(
            lambda c=collection, ids=chosen: c.delete_many({"_id": {"$in": ids}}),
            lambda c=collection, ids=chosen: mongo.delete_ids(c, ids),
            max(5, plan.repeat // 2),
            reset=put_back,
        )
        out.append(
            Row("id deletes", f"delete {IDS_PER_DELETE} ids (a deferred sweep)", size, off_s, on_s)
        )
    return out


def writes(db: Database, plan: Plan, twin: Callable[[], object]) -> list[Row]:
    """The write-side adaptations (``tests/bench/bench_storage_writes.py``)."""
    from tests.bench.bench_storage_writes import grouped_inserts, locks, numbers, tally_adjusts

    storage = Storage(db)
    try:
        out = grouped_inserts(storage, plan)
        out += numbers(db, plan)
        out += tally_adjusts(storage, plan)
        out += locks(db, plan, twin)
    finally:
        storage.flush()
    return out
