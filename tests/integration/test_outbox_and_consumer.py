"""The event backbone against the real broker and database, in-process.

Outbox relay crashes, duplicate deliveries, poison events and handler failures: what a clinic
would see as a lost or doubled notification if any of it were wrong. Here the outbox relay
and a relay crash the consumer sees; poison events, failing handlers and housekeeping in
``test_consumer_on_broker``.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from broker_harness import CLOCK, TOPIC, consumer, notification_handlers_on
from kafka import TopicPartition
from prometheus_client import REGISTRY

from dbt_shared.contracts import CATALOG, intake
from dbt_shared.events.envelope import new_event
from dbt_shared.events.outbox import (
    INTENTS_COLLECTION,
    KEEP_IN_DOCUMENT,
    PARKED_COLLECTION,
    record_intents,
)
from dbt_shared.events.relay import OutboxRelay
from dbt_shared.storage.context import Storage
from notifications import repository as notification_store
from support import committed_offset, header, read_topic, referral_event, wait_until

# These tests write without a hand-off (as a process that died right after its write): the
# relay must send at once what it finds, rather than leave young intents to the hand-off.
AS_IF_NO_HAND_OFF = {"hand_off_time": timedelta(0)}


def records_of(infra, event_id: str, topic: str = TOPIC) -> list:
    return [r for r in read_topic(infra.kafka_bootstrap, topic) if header(r, "ce_id") == event_id]


def test_outbox_relay_publishes_each_event_once_in_order_without_touching_the_document(
    infra, fresh_db, publisher
):
    site_id = str(uuid.uuid4())
    referral_id = str(uuid.uuid4())  # one aggregate: one key, one partition, one order
    first, second = referral_event(site_id, referral_id), referral_event(site_id, referral_id)
    things = Storage(fresh_db).documents("things")
    things.insert({"_id": "doc-1"}, [first])
    things.save({**things.get("doc-1"), "touched": True}, [second])
    before = fresh_db.things.find_one({"_id": "doc-1"})
    relay = OutboxRelay(fresh_db, ["things"], publisher, "test", **AS_IF_NO_HAND_OFF)

    assert relay.relay_once() == 2
    assert relay.relay_once() == 0, "published events are not sent again"
    assert relay.backlog == 0
    assert fresh_db.things.find_one({"_id": "doc-1"}) == before, "the relay never rewrites state"
    assert fresh_db[INTENTS_COLLECTION].count_documents({}) == 0, "sent intents are deleted"

    on_topic = [
        r
        for r in read_topic(infra.kafka_bootstrap, TOPIC)
        if header(r, "ce_id") in (first.id, second.id)
    ]
    assert [header(r, "ce_id") for r in on_topic] == [first.id, second.id]
    assert [r.key for r in on_topic] == [referral_id.encode()] * 2


def test_an_aggregate_recording_a_new_event_does_not_republish_its_old_ones(
    infra, fresh_db, publisher
):
    referral_id = str(uuid.uuid4())
    old = dataclasses.replace(
        referral_event("site", referral_id), time=datetime.now(UTC) - timedelta(days=10)
    )
    things = Storage(fresh_db).documents("things")
    things.insert({"_id": referral_id}, [old])
    relay = OutboxRelay(fresh_db, ["things"], publisher, "test", **AS_IF_NO_HAND_OFF)
    assert relay.relay_once() == 1

    new = referral_event("site", referral_id)
    things.save(things.get(referral_id), [new])
    assert relay.relay_once() == 1
    assert len(records_of(infra, old.id)) == 1
    assert len(records_of(infra, new.id)) == 1


def test_a_backlog_larger_than_a_page_is_worked_off_and_nothing_is_skipped(
    infra, fresh_db, publisher
):
    """Kafka was down for an hour: every event recorded meanwhile goes out once it is back,
    including the first event of a referral that recorded another one since."""
    now = datetime.now(UTC)
    at = lambda minutes_ago: now - timedelta(minutes=minutes_ago)  # noqa: E731
    things = Storage(fresh_db).documents("things")
    first = dataclasses.replace(referral_event("site"), time=at(50))
    things.insert({"_id": first.key}, [first])
    others = [dataclasses.replace(referral_event("site"), time=at(40)) for _ in range(11)]
    for event in others:
        things.insert({"_id": event.key}, [event])
    later = dataclasses.replace(referral_event("site", first.key), time=now)
    things.save(things.get(first.key), [later])

    class KafkaDown:
        def publish(self, events):
            raise ConnectionError("broker unreachable")

    with pytest.raises(ConnectionError):
        OutboxRelay(
            fresh_db, ["things"], KafkaDown(), "test", batch_size=5, **AS_IF_NO_HAND_OFF
        ).relay_once()

    relay = OutboxRelay(fresh_db, ["things"], publisher, "test", batch_size=5, **AS_IF_NO_HAND_OFF)
    assert relay.relay_once() == 13
    assert relay.relay_once() == 0
    for event in (first, later, *others):
        assert len(records_of(infra, event.id)) == 1, event.id


def test_an_intent_whose_write_never_happened_is_dropped_after_the_grace_period(
    infra, fresh_db, publisher
):
    """The process died between recording the intent and the state write: nothing to send."""
    written = referral_event("site")
    never = referral_event("site")
    Storage(fresh_db).documents("things").insert({"_id": written.key}, [written])
    record_intents(fresh_db, "things", never.key, [never], CLOCK)

    relay = OutboxRelay(fresh_db, ["things"], publisher, "test", **AS_IF_NO_HAND_OFF)
    assert relay.relay_once() == 1, "the written event goes out"
    assert relay.backlog == 1, "the other may still be under way"
    patient = OutboxRelay(
        fresh_db, ["things"], publisher, "test", grace=timedelta(0), **AS_IF_NO_HAND_OFF
    )
    assert patient.relay_once() == 0
    assert fresh_db[INTENTS_COLLECTION].count_documents({}) == 0, "the orphan intent is dropped"
    assert records_of(infra, never.id) == []


def test_events_pushed_out_of_their_document_during_a_long_outage_are_still_published(
    infra, fresh_db, publisher
):
    """Kafka is down while one referral records more events than its document keeps
    (KEEP_IN_DOCUMENT): the oldest are no longer in the document, but their writes happened,
    and they go out once the broker is back, however long it was away, in order."""
    referral_id = str(uuid.uuid4())
    events = [referral_event("site", referral_id) for _ in range(KEEP_IN_DOCUMENT + 10)]
    # The document after those writes, as MongoDB stores it (each write's ``$push`` keeps the
    # last KEEP_IN_DOCUMENT; FerretDB keeps them all), with the intents still waiting.
    record_intents(fresh_db, "things", referral_id, events, CLOCK)
    kept = [event.to_document() for event in events[-KEEP_IN_DOCUMENT:]]
    fresh_db.things.insert_one({"_id": referral_id, "_rev": len(events) - 1, "_outbox": kept})

    # The broker is back after the grace period (an hour, a day: the same to the relay).
    relay = OutboxRelay(
        fresh_db, ["things"], publisher, "test", grace=timedelta(0), **AS_IF_NO_HAND_OFF
    )
    assert relay.relay_once() == len(events)
    assert fresh_db[INTENTS_COLLECTION].count_documents({}) == 0
    wanted = {e.id for e in events}
    on_topic = [header(r, "ce_id") for r in read_topic(infra.kafka_bootstrap, TOPIC)]
    assert [i for i in on_topic if i in wanted] == [e.id for e in events], "each once, in order"


def admitted_with_windows(windows: int):
    """An admission as intake would record it, with ``windows`` availability windows."""
    client_id = str(uuid.uuid4())
    return new_event(
        "intake",
        intake.CLIENT_ADMITTED,
        key=client_id,
        subject=f"referrals/{client_id}",
        data={
            "client_id": client_id,
            "referral_id": client_id,
            "site_id": "site",
            "program_id": "program",
            "program": "adult",
            "therapist_id": "therapist",
            "availability": [{"weekday": "mon", "start": "17:00", "end": "21:00"}] * windows,
            "admitted_at": datetime.now(UTC).isoformat(),
        },
        clock=CLOCK,
        catalog=CATALOG,
    )


def parked_total() -> float:
    return REGISTRY.get_sample_value("dbt_outbox_parked_total", {"service": "test"}) or 0.0


def test_an_event_above_the_brokers_limit_is_parked_and_the_events_after_it_are_published(
    infra, fresh_db, publisher
):
    """An admission with 25,000 availability windows makes a 1.3 MB event, above Kafka's
    1 MB: it is parked with why, and the events recorded before and after it still go out."""
    before, after = referral_event("site"), referral_event("site")
    too_large = admitted_with_windows(25_000)
    things = Storage(fresh_db).documents("things")
    for event in (before, too_large, after):
        things.insert({"_id": event.key}, [event])
    parked_before = parked_total()

    relay = OutboxRelay(fresh_db, ["things"], publisher, "test", **AS_IF_NO_HAND_OFF)
    assert relay.relay_once() == 2
    assert len(records_of(infra, before.id)) == 1
    assert len(records_of(infra, after.id)) == 1
    assert records_of(infra, too_large.id) == []
    [parked] = fresh_db[PARKED_COLLECTION].find()
    assert parked["_id"] == too_large.id
    assert parked["error_type"] == "MessageSizeTooLargeError"
    assert parked["event"]["data"]["client_id"] == too_large.key, "kept whole, to be replayed"
    assert parked_total() == parked_before + 1
    assert fresh_db[INTENTS_COLLECTION].count_documents({}) == 0
    assert relay.relay_once() == 0, "a parked event is not retried"
    assert relay.backlog == 0


def test_the_hand_off_sends_the_rest_of_its_batch_and_parks_what_the_broker_refuses(
    infra, fresh_db, publisher
):
    before, after = referral_event("site"), referral_event("site")
    too_large = admitted_with_windows(25_000)
    storage = Storage(fresh_db)
    storage.hand_off.connect(lambda: publisher)
    # one write, one hand-off, one send: the refused event amid the others
    storage.documents("things").insert({"_id": "doc"}, [before, too_large, after])
    storage.hand_off.flush()
    assert len(records_of(infra, before.id)) == 1
    assert len(records_of(infra, after.id)) == 1
    assert [p["_id"] for p in fresh_db[PARKED_COLLECTION].find()] == [too_large.id]
    assert fresh_db[INTENTS_COLLECTION].count_documents({}) == 0, "nothing left for the relay"


def test_relay_crash_after_publish_republishes_and_the_consumer_has_one_effect(
    infra, fresh_db, publisher
):
    site_id = str(uuid.uuid4())
    event = referral_event(site_id)
    Storage(fresh_db).documents("referrals").insert({"_id": event.key}, [event])

    class CrashingPublisher:
        """The broker takes the event, then the process dies before the outbox is cleared."""

        def publish(self, events):
            publisher.publish(events)
            raise SystemExit("killed after publish")

    with pytest.raises(SystemExit):
        OutboxRelay(
            fresh_db, ["referrals"], CrashingPublisher(), "test", **AS_IF_NO_HAND_OFF
        ).relay_once()
    assert (
        OutboxRelay(fresh_db, ["referrals"], publisher, "test", **AS_IF_NO_HAND_OFF).relay_once()
        == 1
    )

    copies = records_of(infra, event.id)
    assert len(copies) == 2, "the event is on the topic twice: at-least-once publishing"

    group = f"test-dedup-{uuid.uuid4().hex[:8]}"
    notification_store.ensure_indexes(fresh_db)
    with consumer(infra, fresh_db, publisher, notification_handlers_on(fresh_db), group):
        tp = TopicPartition(TOPIC, copies[1].partition)
        wait_until(
            lambda: committed_offset(infra.kafka_bootstrap, group, tp) > copies[1].offset,
            timeout=60,
            what="the consumer to get past the second copy",
        )
    assert fresh_db[notification_store.INBOX].count_documents({"referral_id": event.key}) == 1
    assert fresh_db[notification_store.DELIVERIES].count_documents({"site_id": site_id}) == 1
