"""What one routine message costs the notifications sender, and one referral intake's receipt:
database commands and CPU, measured in this process against the test stack's FerretDB.

- **sender**: ``MESSAGES`` referrals' intake emails (a routine message each) are stored as the
  consumer stores them (``on_referrals_received``, batches of ``BATCH``), then sent by
  ``dispatch_due`` as the worker's timer does (handed over in memory, ``send_here``), with an
  in-memory mail relay and contacts; events go to a publisher that drops them (the hand-off's
  intent deletes are counted). Figures: commands per message of the send phase (by command
  name), this process's CPU per message, FerretDB's and PostgreSQL's CPU per message.
- **intake**: ``REFERRALS`` calls of ``referrals.receive`` (what ``POST /v1/referrals`` runs,
  without HTTP, the token and the idempotency record): commands and CPU per referral.

Commands are counted with pymongo's command monitoring (background threads included: deferred
deletes, the hand-off); CPU from ``/proc``, the database's less what it spends at rest in as
long (measured right after). A warm-up round first (collections, their index
twins, blocks of list numbers), then the measured round.

    DEVSTACK_PORT_OFFSET=300 .venv/bin/python -m tests.bench.bench_sender_cost

Prints figures; asserts nothing.
"""

from __future__ import annotations

import collections
import dataclasses
import os
import threading
import time
import uuid
from datetime import date

from pymongo import MongoClient, monitoring

from dbt_shared import site_directory
from dbt_shared.auth import Principal
from dbt_shared.clock import SystemClock
from dbt_shared.contracts import CATALOG, intake
from dbt_shared.events.envelope import new_event
from dbt_shared.storage.context import Storage
from devstack import Profile, Stack
from tests.bench.bench_probe import TICKS, _snapshot, _tree_ticks

MESSAGES = int(os.environ.get("BENCH_SENDER_MESSAGES", "400"))
REFERRALS = int(os.environ.get("BENCH_SENDER_REFERRALS", "300"))
BATCH = 50


class Counter(monitoring.CommandListener):
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: collections.Counter[str] = collections.Counter()

    def started(self, event) -> None:
        if event.command_name in ("endSessions", "isMaster", "hello", "ping", "buildInfo"):
            return
        name = event.command_name
        if name in ("insert", "update", "delete", "findAndModify", "find"):
            name = f"{name} {event.command.get(name)}"
        with self.lock:
            self.counts[name] += 1

    def succeeded(self, event) -> None:
        pass

    def failed(self, event) -> None:
        pass

    def take(self) -> collections.Counter[str]:
        with self.lock:
            counts, self.counts = self.counts, collections.Counter()
        return counts


class Dropped:
    service = "bench"

    def publish(self, events, timeout_s: float = 30) -> None:
        pass


class Cpu:
    """This process's CPU and the database's (FerretDB's and PostgreSQL's process trees)."""

    def __init__(self, stack: Stack) -> None:
        self.roots = {
            name: proc.pid
            for name, proc in stack.processes.items()
            if name in ("ferretdb", "postgres") and proc.is_running()
        }

    def mark(self) -> dict[str, float]:
        snap = _snapshot()
        out = {name: _tree_ticks(pid, snap) / TICKS for name, pid in self.roots.items()}
        out["python"] = time.process_time()
        return out


def _spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: after[k] - before[k] for k in before}


def _less_idle(cpu: Cpu, spent: dict[str, float], seconds: float) -> dict[str, float]:
    """``spent`` less what the database spends at rest in as long (its own timers, vacuum)."""
    before = cpu.mark()
    time.sleep(seconds)
    idle = _spent(before, cpu.mark())
    return {k: v - (idle[k] if k != "python" else 0.0) for k, v in spent.items()}


def _settle(storage: Storage) -> None:
    storage.hand_off.flush()
    storage.deferred.sweep()
    time.sleep(0.5)  # the tallies' tenth of a second, the group inserts
    storage.hand_off.flush()
    storage.deferred.sweep()


def _storage(db) -> Storage:
    """The bench process's storage: its events handed to a broker that drops them."""
    storage = Storage(db)
    storage.hand_off.connect(Dropped)
    return storage


def _report(title: str, n: int, counts, cpu: dict[str, float]) -> None:
    total = sum(counts.values())
    print(f"{title}: {total / n:.2f} commands each ({total} for {n})")
    for name, count in counts.most_common():
        print(f"    {name:40s} {count / n:6.3f}")
    print(
        "  CPU each: "
        + ", ".join(f"{k} {v * 1000 / n:.2f} ms" for k, v in sorted(cpu.items()))
        + f"; database total {sum(v for k, v in cpu.items() if k != 'python') * 1000 / n:.2f} ms"
    )


# -- the sender ---------------------------------------------------------------------------------
def _referral_events(site_id: str, clock, count: int):
    batch = []
    for _n in range(count):
        rid = f"ref-{uuid.uuid4().hex[:12]}"
        data = {
            "referral_id": rid,
            "site_id": site_id,
            "program": "adult",
            "received_at": clock.now().isoformat(),
        }
        event = new_event(
            "intake",
            intake.REFERRAL_RECEIVED,
            key=rid,
            subject=f"referrals/{rid}",
            data=data,
            clock=clock,
            catalog=CATALOG,
        )
        batch.append((event, CATALOG.load(event.type, event.data)))
    return batch


def sender(stack: Stack, client: MongoClient, counter: Counter, cpu: Cpu) -> None:
    from notifications import bootstrap, repository, services
    from notifications.domain.deliveries import LEASE

    clock = SystemClock()
    db = client[f"bench_sender_{uuid.uuid4().hex[:8]}"]
    repository.ensure_indexes(db)
    storage = _storage(db)
    components = bootstrap.in_memory(clock)
    components = dataclasses.replace(
        components, repositories=repository.mongo(storage, clock), storage=storage
    )
    components.repositories.deliveries.send_here(LEASE)
    site_id = "site-bench"
    # the site directory's entry (intake's event would make it): its time zone
    db[site_directory.COLLECTION].insert_one({"_id": site_id, "timezone": "UTC"})
    components.contacts.sites[site_id] = {
        "id": site_id,
        "timezone": "UTC",
        "intake_email": "intake@bench.example.org",
        "clinical_lead": {"email": "lead@bench.example.org"},
    }

    def round_(count: int) -> tuple[collections.Counter[str], dict[str, float]]:
        for start in range(0, count, BATCH):
            services.on_referrals_received(
                _referral_events(site_id, clock, min(BATCH, count - start)), components
            )
        _settle(storage)
        counter.take()
        before, started = cpu.mark(), time.monotonic()
        sent = services.dispatch_due(components)
        _settle(storage)
        spent = _spent(before, cpu.mark())
        if sent != count:
            raise SystemExit(f"sent {sent} of {count}")
        counts = counter.take()
        return counts, _less_idle(cpu, spent, time.monotonic() - started)

    try:
        round_(60)  # warm-up: the collections exist, then their index twins
        stack.twin_indexes()
        counts, spent = round_(MESSAGES)
        _report(f"sender, a routine email ({MESSAGES} messages)", MESSAGES, counts, spent)
    finally:
        client.drop_database(db.name)


# -- intake's receipt ---------------------------------------------------------------------------
def receipts(stack: Stack, client: MongoClient, counter: Counter, cpu: Cpu) -> None:
    from intake import bootstrap, repository
    from intake.services import organisation, referrals

    clock = SystemClock()
    db = client[f"bench_intake_{uuid.uuid4().hex[:8]}"]
    repository.ensure_indexes(db)
    storage = _storage(db)
    components = bootstrap.in_memory(clock)
    components = dataclasses.replace(
        components, repositories=repository.mongo(storage, clock), storage=storage
    )
    operator = Principal(subject="op", roles=frozenset({"operator"}), sites=frozenset())
    site = organisation.register_site(
        {
            "name": "Bench intake",
            "timezone": "America/Chicago",
            "intake_email": "intake@bench.example.org",
            "clinical_lead": {"name": "Lead", "email": "lead@bench.example.org", "phone": None},
        },
        components,
        f"site-{uuid.uuid4().hex[:8]}",
    )
    organisation.create_program(
        site["_id"], {"kind": "adult", "settings": {}}, components, operator
    )
    coordinator = Principal(
        subject="coord", roles=frozenset({"coordinator"}), sites=frozenset({site["_id"]})
    )

    def body() -> dict:
        n = uuid.uuid4().hex[:10]
        return {
            "site_id": site["_id"],
            "program": "adult",
            "source": "bench",
            "consent_to_contact": True,
            "client": {
                "given_name": "Bench",
                "family_name": f"Client{n}",
                "date_of_birth": date(1990, 1, 1),
                "email": f"c{n}@bench.example.org",
                "phone": "+1 312 555 0100",
            },
        }

    def round_(count: int):
        _settle(storage)
        counter.take()
        before, started = cpu.mark(), time.monotonic()
        for _ in range(count):
            referrals.receive(body(), components, coordinator, f"ref-{uuid.uuid4().hex}")
        _settle(storage)
        spent = _spent(before, cpu.mark())
        counts = counter.take()
        return counts, _less_idle(cpu, spent, time.monotonic() - started)

    try:
        round_(60)
        stack.twin_indexes()
        counts, spent = round_(REFERRALS)
        _report(
            f"intake, a referral's receipt ({REFERRALS}, one at a time)", REFERRALS, counts, spent
        )
    finally:
        client.drop_database(db.name)


def main() -> None:
    profile = Profile.test()
    stack = Stack(profile)
    stack.start_infrastructure(timeout=180)
    counter = Counter()
    try:
        with MongoClient(profile.mongodb_uri, tz_aware=True, event_listeners=[counter]) as client:
            cpu = Cpu(stack)
            sender(stack, client, counter, cpu)
            receipts(stack, client, counter, cpu)
    finally:
        stack.stop_all()


if __name__ == "__main__":
    main()
