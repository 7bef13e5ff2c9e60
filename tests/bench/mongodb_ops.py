"""Benchmark: basic operations on the MongoDB-protocol server (FerretDB on PostgreSQL locally).

Loads ~5,500 referral-like documents into a database of its own, then measures, one request at
a time from one client (pymongo): ``_id`` lookups per second, ``$set``/``$inc`` updates by
``_id`` per second, and the time of an equality-filter query (``{"site_id": ..., "status":
...}``, ~1/44 of the documents) without and with a matching index. Drops the database at the end.

    .venv/bin/python tests/bench/mongodb_ops.py                 # starts the test stack's database
    .venv/bin/python tests/bench/mongodb_ops.py --uri mongodb://127.0.0.1:27017/   # any server

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

from pymongo import MongoClient

SITES = 11
STATUSES = ("received", "screening", "eligible", "committed")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def documents(count: int) -> list[dict]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rng = random.Random(7)
    return [
        {
            "_id": f"ref-{n:06d}",
            "site_id": f"site-{n % SITES}",
            "status": STATUSES[(n // SITES) % len(STATUSES)],
            "program": rng.choice(("adult", "adolescent")),
            "created_at": start + timedelta(minutes=n),
            "risk": {"level": rng.choice(("low", "moderate", "high")), "score": rng.random()},
            "history": [{"status": "received", "at": start + timedelta(minutes=n)}],
            "client_sealed": uuid.UUID(int=rng.getrandbits(128)).hex * 8,  # ~256 bytes
            "_rev": 1,
        }
        for n in range(count)
    ]


def timed(fn, repeat: int) -> list[float]:
    """Seconds per call of ``fn(i)`` for i in range(repeat)."""
    out = []
    for i in range(repeat):
        t0 = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - t0)
    return out


def run(uri: str, count: int, ops: int, queries: int) -> None:
    client = MongoClient(uri, tz_aware=True)
    name = f"bench_{uuid.uuid4().hex[:8]}"
    coll = client[name]["referrals"]
    try:
        docs = documents(count)
        t0 = time.perf_counter()
        for chunk in range(0, count, 500):
            coll.insert_many(docs[chunk : chunk + 500], ordered=False)
        load_s = time.perf_counter() - t0
        ids = [d["_id"] for d in docs]
        rng = random.Random(11)
        picks = [rng.choice(ids) for _ in range(ops)]

        lookups = timed(lambda i: coll.find_one({"_id": picks[i]}), ops)
        updates = timed(
            lambda i: coll.update_one(
                {"_id": picks[i]},
                {"$set": {"updated_at": datetime.now(UTC)}, "$inc": {"_rev": 1}},
            ),
            ops,
        )
        flt = {"site_id": "site-3", "status": "eligible"}
        expected = sum(1 for d in docs if d["site_id"] == "site-3" and d["status"] == "eligible")

        def query(_i):
            if len(list(coll.find(flt))) != expected:
                raise SystemExit(f"the filter missed documents (want {expected})")

        plain = timed(query, queries)
        coll.create_index([("site_id", 1), ("status", 1)], name="site_status")
        indexed = timed(query, queries)
        found = coll.count_documents(flt)

        version = client.server_info().get("version", "?")
        print(f"server {uri} (reports MongoDB {version}); {count} documents, one client")
        print(f"  insert_many, 500 per batch        {count / load_s:8.0f} docs/s")
        print(
            f"  find_one by _id                   {ops / sum(lookups):8.0f} /s"
            f"   (p50 {statistics.median(lookups) * 1000:.2f} ms,"
            f" p95 {percentile(lookups, 0.95) * 1000:.2f} ms)"
        )
        print(
            f"  update_one by _id ($set, $inc)    {ops / sum(updates):8.0f} /s"
            f"   (p50 {statistics.median(updates) * 1000:.2f} ms,"
            f" p95 {percentile(updates, 0.95) * 1000:.2f} ms)"
        )
        for label, values in (("no index", plain), ("index site_id+status", indexed)):
            print(
                f"  find {{site_id, status}} -> {found} docs, {label:20s}"
                f" p50 {statistics.median(values) * 1000:7.2f} ms,"
                f" p95 {percentile(values, 0.95) * 1000:7.2f} ms"
            )
    finally:
        client.drop_database(name)
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uri", help="MongoDB URI; default: start the test stack's database")
    parser.add_argument("--docs", type=int, default=5500)
    parser.add_argument("--ops", type=int, default=2000, help="lookups and updates, each")
    parser.add_argument("--queries", type=int, default=50, help="filter queries, each variant")
    args = parser.parse_args()
    if args.uri:
        run(args.uri, args.docs, args.ops, args.queries)
        return
    from devstack import Profile, Stack

    stack = Stack(Profile.test())
    stack.start_infrastructure(timeout=180)
    try:
        run(stack.profile.mongodb_uri, args.docs, args.ops, args.queries)
    finally:
        stack.stop_all()


if __name__ == "__main__":
    main()
