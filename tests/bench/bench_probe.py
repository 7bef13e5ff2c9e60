"""Measurements for ``make bench`` that read the stack itself: the broker, the databases, /proc.

- ``raw_ceiling``: what one kafka-python producer (1 KB, acks=all, idempotent) gets from the
  broker, the yardstick for everything that goes through it;
- ``inbox_times``: when notifications stored the inbox item of each referral (read straight
  from its ``inbox_items`` collection: measuring, not using the service);
- ``settle``: wait until the platform has nothing left to do (no consumer lag, no outbox
  intent, no delivery due), so that one measurement does not pay for the last one's backlog;
- ``cpu``: CPU time of every process of the stack (each with its whole process tree) over a
  window, from ``/proc/<pid>/stat``.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
from pymongo import MongoClient

from devstack import SERVICES, Stack

INBOX = ("dbt_notifications", "inbox_items")
DELIVERY_QUEUE = ("dbt_notifications", "delivery_queue")
DATABASES = tuple("dbt_" + s.replace("-", "_") for s in SERVICES)
GROUPS = tuple(f"dbt-{s}" for s in SERVICES)


def raw_ceiling(bootstrap: str, topic: str, records: int) -> float:
    """Records per second of 1 KB values, acks=all, idempotent, to a 6-partition topic."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(topic, num_partitions=6, replication_factor=1)])
    finally:
        admin.close()
    producer = KafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5
    )
    value = os.urandom(1024)
    try:
        for _ in range(min(1000, records)):  # warm-up: metadata, connections, the JIT
            producer.send(topic, value=value)
        producer.flush(60)
        started = time.perf_counter()
        for _ in range(records):
            producer.send(topic, value=value)
        producer.flush(120)
        return records / (time.perf_counter() - started)
    finally:
        producer.close(10)


# -- the inbox ---------------------------------------------------------------------------------
def inbox_times(
    mongo: MongoClient, site_id: str, since: datetime, referrals: set[str], timeout: float
) -> dict[str, float]:
    """``referral_id -> created_at`` (Unix seconds) of the site's inbox items made since
    ``since`` for ``referrals``, once every one of them is stored (or at the deadline, with
    those that are)."""
    items = mongo[INBOX[0]][INBOX[1]]
    query = {"site_id": site_id, "created_at": {"$gte": since}}
    deadline = time.monotonic() + timeout
    while True:
        # Count first (cheap), read the items only when there may be all of them.
        if items.count_documents(query) >= len(referrals) or time.monotonic() >= deadline:
            stored = {
                doc["referral_id"]: doc["created_at"].timestamp()
                for doc in items.find(query, {"referral_id": 1, "created_at": 1})
                if doc.get("referral_id") in referrals
            }
            if len(stored) >= len(referrals) or time.monotonic() >= deadline:
                return stored
        # The times are the items' own, so a slower poll loses no precision; it only keeps
        # the probe's reads (FerretDB decodes each of the site's items per count) from taking
        # the CPU that the platform is being measured on.
        time.sleep(2.0)


# -- quiet -------------------------------------------------------------------------------------
def _consumer_lag(admin: KafkaAdminClient, consumer: KafkaConsumer) -> int:
    lag = 0
    for group in GROUPS:
        try:
            committed = admin.list_group_offsets({group: None}).get(group, {})
        except Exception:  # a group that has not committed yet
            continue
        topics = {tp.topic for tp in committed}
        tps = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()]
        ends = consumer.end_offsets(tps) if tps else {}
        for tp, end in ends.items():
            done = committed.get(tp)
            lag += end - (done.offset if done is not None and done.offset >= 0 else 0)
    return lag


def busy(mongo: MongoClient, admin: KafkaAdminClient, consumer: KafkaConsumer) -> str:
    """What the platform still has to do ('' when nothing)."""
    lag = _consumer_lag(admin, consumer)
    intents = sum(mongo[db]["outbox_intents"].count_documents({}) for db in DATABASES)
    due = mongo[DELIVERY_QUEUE[0]][DELIVERY_QUEUE[1]].count_documents(
        {"next_attempt_at": {"$lte": datetime.now(UTC)}}
    )
    parts = [
        f"{n} {what}"
        for n, what in ((lag, "events unconsumed"), (intents, "outbox intents"), (due, "due"))
        if n
    ]
    return ", ".join(parts)


class Quiet:
    """Waits until the platform has caught up with everything it was given."""

    def __init__(self, bootstrap: str, mongo: MongoClient) -> None:
        self.mongo = mongo
        self.admin = KafkaAdminClient(bootstrap_servers=bootstrap)
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None)

    def settle(self, max_s: float) -> tuple[float, str]:
        """Seconds waited, and what was still to do at ``max_s`` ('' if it all got done)."""
        started = time.monotonic()
        while True:
            left = busy(self.mongo, self.admin, self.consumer)
            if not left or time.monotonic() - started >= max_s:
                return time.monotonic() - started, left
            time.sleep(2)

    def close(self) -> None:
        self.consumer.close()
        self.admin.close()


# -- CPU ---------------------------------------------------------------------------------------
TICKS = os.sysconf("SC_CLK_TCK")


def _snapshot() -> dict[int, tuple[int, int]]:
    """``pid -> (ppid, ticks)`` of every process; ticks = its own CPU time plus that of the
    children it has reaped (utime + stime + cutime + cstime)."""
    found: dict[int, tuple[int, int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        found[int(entry.name)] = (int(fields[1]), sum(int(f) for f in fields[11:15]))
    return found


def _tree_ticks(root: int, snapshot: dict[int, tuple[int, int]]) -> int:
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in snapshot.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        if pid in snapshot:
            total += snapshot[pid][1]
            todo.extend(children.get(pid, ()))
    return total


def cpu(stack: Stack, seconds: float) -> dict[str, float]:
    """Per process of the stack (its whole tree: gunicorn workers, PostgreSQL backends): % of
    one core over ``seconds``."""
    roots = {name: proc.pid for name, proc in stack.processes.items() if proc.is_running()}
    before = _snapshot()
    started = time.monotonic()
    time.sleep(seconds)
    after = _snapshot()
    elapsed = time.monotonic() - started
    return {
        name: 100.0 * (_tree_ticks(pid, after) - _tree_ticks(pid, before)) / TICKS / elapsed
        for name, pid in roots.items()
    }
