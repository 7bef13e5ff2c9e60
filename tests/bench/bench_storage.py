"""``make bench-storage``: what each engine adaptation of ``dbt_shared.storage`` buys, on and off.

Every adaptation (docs/storage.md) is measured on the same user-visible operation twice, on
the same FerretDB-on-PostgreSQL the services use locally (with the stack's index twins):
**on**, through the real ``dbt_shared.storage`` code, and **off**, the plain MongoDB way (a
sorted, limited ``find``; ``count_documents``; ``delete_many`` with ``$in``; one ``insert_one``
per request thread; the revision in the update's filter alone). The two sides of a pair run
interleaved (op by op for a latency, round by round for a throughput) and the table shows
medians. Figures only; nothing is asserted.

    python -m tests.bench.bench_storage            # 10k, 20k and 50k documents
    python -m tests.bench.bench_storage --quick    # 10k only, fewer repetitions (make bench)
    python -m tests.bench.bench_storage --uri mongodb://127.0.0.1:27017/   # any server

It starts the test profile's database (``DEVSTACK_PORT_OFFSET`` moves it; Kafka is not
started) unless one runs there already, and drops its databases at the end.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from pymongo import MongoClient


@dataclass
class Row:
    """One line of the table: ``off`` and ``on`` in ``unit`` (numbers, or a text such as a
    count of lost writes); ``higher`` when more is better (a throughput)."""

    adaptation: str
    operation: str
    size: str
    off: float | str
    on: float | str
    unit: str = "ms"
    higher: bool = False

    @property
    def ratio(self) -> str:
        if isinstance(self.off, str) or isinstance(self.on, str) or not (self.off and self.on):
            return "-"
        value = self.on / self.off if self.higher else self.off / self.on
        return f"{value:.1f}x"


def cell(value: float | str, unit: str) -> str:
    if isinstance(value, str):
        return value
    if unit == "ms":
        return f"{value * 1000:.2f} ms"
    return f"{value:,.0f} {unit}"


def interleaved(
    off: Callable[[], object],
    on: Callable[[], object],
    repeat: int,
    reset: Callable[[], object] | None = None,
) -> tuple[float, float]:
    """Seconds per call of ``off`` and of ``on``, called alternately (which goes first
    alternates too), so a neighbour's load falls on both sides alike; answers both medians.
    ``reset`` (untimed) runs after each call (puts back what a delete removed)."""
    offs: list[float] = []
    ons: list[float] = []
    for i in range(repeat):
        pairs = [(off, offs), (on, ons)]
        for fn, out in pairs if i % 2 == 0 else reversed(pairs):
            began = time.perf_counter()
            fn()
            out.append(time.perf_counter() - began)
            if reset is not None:
                reset()
    return statistics.median(offs), statistics.median(ons)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass(frozen=True)
class Plan:
    sizes: tuple[int, ...]
    repeat: int  # latency pairs per operation
    rounds: int  # rounds of a throughput or concurrency pair


FULL = Plan(sizes=(10_000, 20_000, 50_000), repeat=15, rounds=7)  # 20k: a clinic-year
QUICK = Plan(sizes=(10_000,), repeat=7, rounds=3)
PARTS = ("reads", "writes")


def run(client: MongoClient, plan: Plan, twin: Callable[[], object], parts=PARTS) -> list[Row]:
    from tests.bench import bench_storage_cases as cases

    rows: list[Row] = []
    names: list[str] = []
    try:
        for size in plan.sizes if "reads" in parts else ():
            name = f"bench_storage_{uuid.uuid4().hex[:8]}"
            names.append(name)
            db = client[name]
            data = cases.load(db, size)
            twin()  # the index twins the services' databases get (devstack/postgres.py)
            rows += cases.lists(db, data, plan)
            rows += cases.counts(db, data, plan)
            rows += cases.deletes(db, data, plan, twin)
        if "writes" in parts:
            name = f"bench_storage_{uuid.uuid4().hex[:8]}"
            names.append(name)
            rows += cases.writes(client[name], plan, twin)
    finally:
        # A storage's background writer (tallies every 0.1 s, deferred deletes every 0.25 s)
        # may be in the middle of a write that an explicit flush did not wait for.
        time.sleep(0.5)
        for name in names:
            client.drop_database(name)
    return rows


def show(rows: list[Row], server: str, plan: Plan, took: float) -> None:
    print()
    print(
        f"storage bench: each engine adaptation on and off, {server}; medians of {plan.repeat}"
        f" interleaved pairs (latencies) or {plan.rounds} alternating rounds (throughputs)"
    )
    load = os.getloadavg()[0]
    print(
        f"  load average {load:.1f} on {os.cpu_count()} cores (a machine shared with other"
        f" work: compare off with on, not with other runs); took {took:.0f} s"
    )
    header = f"{'adaptation':18} {'operation':62} {'size':>13} {'off':>14} {'on':>14} {'ratio':>6}"
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row.adaptation:18} {row.operation:62} {row.size:>13} {cell(row.off, row.unit):>14}"
            f" {cell(row.on, row.unit):>14} {row.ratio:>6}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uri", help="MongoDB URI; default: start the test stack's database")
    parser.add_argument("--quick", action="store_true", help="10k documents, fewer repetitions")
    parser.add_argument("--only", choices=PARTS, help="lists, counts and deletes, or the writes")
    args = parser.parse_args()
    parts = (args.only,) if args.only else PARTS
    plan = QUICK if args.quick else FULL
    began = time.monotonic()
    if args.uri:
        client = MongoClient(args.uri, tz_aware=True)
        rows = run(client, plan, twin=lambda: 0, parts=parts)
        show(rows, args.uri, plan, time.monotonic() - began)
        return
    from devstack import Profile, Stack

    # The database alone: Kafka is not needed here (named as provided from outside, it is
    # not started), and it is one JVM less on a shared machine.
    profile = dataclasses.replace(Profile.test(), external_kafka="127.0.0.1:9")
    stack = Stack(profile)
    started_here = not Stack.attach(profile).processes
    if started_here:
        stack.start_infrastructure(timeout=180)
    client = MongoClient(profile.mongodb_uri, tz_aware=True)
    try:
        rows = run(client, plan, twin=stack.twin_indexes, parts=parts)
    finally:
        client.close()
        if started_here:
            stack.stop_all()
    show(rows, f"FerretDB on PostgreSQL ({profile.mongodb_uri})", plan, time.monotonic() - began)


if __name__ == "__main__":
    main()
