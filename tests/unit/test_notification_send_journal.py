"""The sender's send journal: one entry per message handed to a provider, written before the
call, so the deliveries themselves are written 20 at a time again, and a sender that stops
still repeats at most the one message it had in flight (``dispatch``, ``SendJournal``)."""

from __future__ import annotations

import collections
import dataclasses
from datetime import timedelta

import pytest

from dbt_shared.contracts import CATALOG, intake
from dbt_shared.events.envelope import new_event
from notifications import bootstrap, services
from notifications.adapters import InMemorySender
from notifications.domain.deliveries import LEASE
from notifications.services import dispatch
from notifications.services.dispatch import SAVE_EVERY

SITE = "site-1"


class Crash(BaseException):
    """The worker process dies: nothing it would do next happens, no write included."""


@pytest.fixture
def notifications(clock):
    components = bootstrap.in_memory(clock)
    components.contacts.sites[SITE] = {
        "id": SITE,
        "timezone": "UTC",
        "intake_email": "intake@riverside.example.org",
        "clinical_lead": {"email": "lead@riverside.example.org"},
    }
    return components


def _referrals(components, count: int, first: int = 0) -> None:
    batch = []
    for n in range(first, first + count):
        data = {
            "referral_id": f"ref-{n}",
            "site_id": SITE,
            "program": "adult",
            "received_at": components.clock.now().isoformat(),
        }
        event = new_event(
            "intake",
            intake.REFERRAL_RECEIVED,
            key=data["referral_id"],
            subject=f"referrals/{data['referral_id']}",
            data=data,
            clock=components.clock,
            catalog=CATALOG,
        )
        batch.append((event, CATALOG.load(event.type, event.data)))
    services.on_referrals_received(batch, components)


def _counting_writes(monkeypatch, deliveries) -> list[int]:
    """The size of each write of the deliveries the sender makes."""
    writes: list[int] = []
    save_many = deliveries.save_many

    def counted(changes):
        writes.append(len(changes))
        return save_many(changes)

    monkeypatch.setattr(deliveries, "save_many", counted)
    return writes


def test_routine_emails_are_written_twenty_at_a_time_and_leave_no_journal(
    notifications, monkeypatch
):
    _referrals(notifications, 2 * SAVE_EVERY)
    deliveries = notifications.repositories.deliveries
    writes = _counting_writes(monkeypatch, deliveries)

    assert services.dispatch_due(notifications) == 2 * SAVE_EVERY

    assert len(notifications.sender.sent) == 2 * SAVE_EVERY
    assert {d["status"] for d in deliveries.store.find({})} == {"sent"}
    # One write per 20 messages (it was one per message: each attempt stored in flight).
    assert writes == [SAVE_EVERY, SAVE_EVERY]
    assert deliveries.journal.entries == {}, "an attempt written with its delivery is forgotten"


def test_a_sender_stopped_before_its_batch_was_written_sends_none_of_it_again(
    notifications, monkeypatch
):
    """Fifteen emails handed to the relay and the sender dies with the 16th in flight, before
    its batch of deliveries was written: the restarted sender records the fifteen from the
    journal and sends only the one in flight again, under the same Message-ID."""
    _referrals(notifications, 18)
    deliveries = notifications.repositories.deliveries
    save_many = deliveries.save_many

    dead = []

    class Dying(InMemorySender):
        def send(self, email) -> None:
            super().send(email)
            if len(self.sent) == 16:
                dead.append(True)
                raise Crash

    def unless_dead(changes):  # a dead process writes nothing more
        if dead:
            raise Crash
        return save_many(changes)

    relay = Dying()
    notifications.sender = relay
    monkeypatch.setattr(deliveries, "save_many", unless_dead)
    with pytest.raises(Crash):
        services.dispatch_due(notifications)

    monkeypatch.setattr(deliveries, "save_many", save_many)
    restarted = dataclasses.replace(notifications, sender=InMemorySender(sent=relay.sent))
    restarted.clock.advance(LEASE + timedelta(seconds=1))
    services.dispatch_due(restarted)

    stored = deliveries.store.find({})
    assert {d["status"] for d in stored} == {"sent"}
    assert {d["attempts"] for d in stored} == {1}, "each recorded once, as its first attempt"
    times = collections.Counter(email.delivery_id for email in relay.sent)
    assert sorted(times.values()) == [1] * 17 + [2], "only the message in flight went twice"
    [again] = [d for d, n in times.items() if n == 2]
    assert len({e.key for e in relay.sent if e.delivery_id == again}) == 1, "under one key"
    stopped = {e.key for e in relay.sent[:16]}
    assert set(deliveries.journal.entries) <= stopped, "only what the stopped sender left"


def test_a_stopped_senders_batch_is_recorded_once_in_whatever_order_it_is_claimed_again(
    notifications, monkeypatch
):
    """Three emails handed over, the sender dies with the third in flight; the second is
    claimed again before the first (and each outcome written at once): the first's outcome,
    carried by the second's entry, is still there when the first is claimed."""
    _referrals(notifications, 3)
    deliveries = notifications.repositories.deliveries
    save_many = deliveries.save_many
    dead = []

    class Dying(InMemorySender):
        def send(self, email) -> None:
            super().send(email)
            if len(self.sent) == 3:
                dead.append(True)
                raise Crash

    def unless_dead(changes):
        if dead:
            raise Crash
        return save_many(changes)

    relay = Dying()
    notifications.sender = relay
    monkeypatch.setattr(deliveries, "save_many", unless_dead)
    with pytest.raises(Crash):
        services.dispatch_due(notifications)
    monkeypatch.setattr(deliveries, "save_many", save_many)

    first, second, _third = (e.delivery_id for e in relay.sent)
    later = deliveries.store.get(first)
    deliveries.store.save(
        {**later, "next_attempt_at": later["next_attempt_at"] + timedelta(seconds=1)}
    )
    monkeypatch.setattr(dispatch, "SAVE_EVERY", 1)  # each outcome written as it is recorded
    restarted = dataclasses.replace(notifications, sender=InMemorySender(sent=relay.sent))
    restarted.clock.advance(LEASE + timedelta(seconds=2))
    services.dispatch_due(restarted)

    assert {(d["status"], d["attempts"]) for d in deliveries.store.find({})} == {("sent", 1)}
    times = collections.Counter(email.delivery_id for email in relay.sent)
    assert (times[first], times[second]) == (1, 1), "neither handed over again"
    assert sum(times.values()) == 4, "only the one in flight went twice"


def test_a_sender_whose_lease_ran_out_mid_send_does_not_make_it_a_new_message(
    notifications, monkeypatch
):
    """The first sender is slow: its lease runs out while the provider holds its message, and
    a second sender claims the delivery. The second finds the attempt begun and sends it under
    the same key (the provider tells the repeat), never as a second attempt; one outcome is
    written."""
    _referrals(notifications, 1)
    deliveries = notifications.repositories.deliveries
    second: list = []

    class Slow(InMemorySender):
        def send(self, email) -> None:
            super().send(email)
            if not second:  # meanwhile the lease runs out and another sender claims it
                notifications.clock.advance(LEASE + timedelta(seconds=1))
                other = dataclasses.replace(notifications, sender=InMemorySender(sent=self.sent))
                second.append(services.dispatch_due(other))

    notifications.sender = Slow()
    services.dispatch_due(notifications)

    sent = notifications.sender.sent
    assert len(sent) == 2 and sent[0].key == sent[1].key, "a repeat under the same key"
    [delivery] = deliveries.store.find({})
    assert (delivery["status"], delivery["attempts"]) == ("sent", 1)
    assert len(delivery["_outbox"]) == 1, "one outcome event"
