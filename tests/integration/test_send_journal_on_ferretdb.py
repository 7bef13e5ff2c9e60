"""The sender's send journal on the server the tests run against (FerretDB locally): a worker
that dies with a batch of sent messages not written yet is replaced by one that claims them
from the queue, records them from the journal (index ``outcome_of``) and repeats only the one
that was in flight; the journal keeps only what the stopped worker left."""

from __future__ import annotations

import collections
from datetime import UTC, datetime, timedelta

import pytest

from dbt_shared.clock import FixedClock
from dbt_shared.contracts import CATALOG, intake
from dbt_shared.events.envelope import new_event
from dbt_shared.storage.context import Storage
from notifications import bootstrap, repository, services
from notifications.adapters import InMemorySender
from notifications.delivery_store import JOURNAL
from notifications.domain.deliveries import LEASE
from support import wait_until

SITE = "site-1"


class Crash(BaseException):
    """The worker process dies: nothing it would do next happens, no write included."""


def _worker(db, clock, sender):
    """A worker process: its own repositories (nothing in memory from the one before)."""
    c = bootstrap.in_memory(clock)
    c.storage = Storage(db)
    c.repositories = repository.mongo(c.storage, clock)
    c.repositories.deliveries.send_here(LEASE)
    c.sender = sender
    c.contacts.sites[SITE] = {
        "id": SITE,
        "timezone": "UTC",
        "intake_email": "intake@riverside.example.org",
        "clinical_lead": {"email": "lead@riverside.example.org"},
    }
    return c


def _referrals(c, count: int) -> None:
    batch = []
    for n in range(count):
        data = {
            "referral_id": f"ref-{n}",
            "site_id": SITE,
            "program": "adult",
            "received_at": c.clock.now().isoformat(),
        }
        event = new_event(
            "intake",
            intake.REFERRAL_RECEIVED,
            key=data["referral_id"],
            subject=f"referrals/{data['referral_id']}",
            data=data,
            clock=c.clock,
            catalog=CATALOG,
        )
        batch.append((event, CATALOG.load(event.type, event.data)))
    services.on_referrals_received(batch, c)


def test_a_replaced_worker_records_the_sent_batch_from_the_journal(fresh_db, monkeypatch):
    repository.ensure_indexes(fresh_db)
    clock = FixedClock(datetime(2026, 3, 3, 15, 0, tzinfo=UTC))
    dead: list[bool] = []

    class Dying(InMemorySender):
        def send(self, email) -> None:
            super().send(email)
            if len(self.sent) == 8:
                dead.append(True)
                raise Crash

    relay = Dying()
    first = _worker(fresh_db, clock, relay)
    _referrals(first, 12)
    save_many = first.repositories.deliveries.save_many

    def unless_dead(changes):
        if dead:
            raise Crash
        return save_many(changes)

    monkeypatch.setattr(first.repositories.deliveries, "save_many", unless_dead)
    with pytest.raises(Crash):
        services.dispatch_due(first)

    clock.advance(LEASE + timedelta(seconds=1))  # the dead worker's leases run out
    second = _worker(fresh_db, clock, InMemorySender(sent=relay.sent))
    assert services.dispatch_due(second) == 12

    stored = list(fresh_db["deliveries"].find({}))
    assert {(d["status"], d["attempts"]) for d in stored} == {("sent", 1)}
    times = collections.Counter(email.delivery_id for email in relay.sent)
    assert set(times) == {d["_id"] for d in stored}
    assert sorted(times.values()) == [1] * 11 + [2], "only the message in flight went twice"
    second.storage.deferred.sweep()  # (the journal's entries go with others, a moment later)
    stopped = {e.key for e in relay.sent[:8]}
    wait_until(
        lambda: {e["_id"] for e in fresh_db[JOURNAL].find({})} <= stopped,
        10,
        "the journal to keep only what the stopped worker left",
    )
