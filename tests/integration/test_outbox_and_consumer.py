"""The event backbone against the real broker and database, in-process.

Outbox relay crashes, duplicate deliveries, poison events and handler failures: what a clinic
would see as a lost or doubled notification if any of it were wrong.
"""

from __future__ import annotations

import dataclasses
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from kafka import TopicPartition
from prometheus_client import REGISTRY

from dbt_shared import retention
from dbt_shared.clock import SystemClock
from dbt_shared.contracts import ALL_TOPICS, CATALOG, intake
from dbt_shared.documents import MongoDocumentStore
from dbt_shared.events.consumer import ConsumerRunner, batched
from dbt_shared.events.envelope import new_event
from dbt_shared.events.outbox import (
    INTENTS_COLLECTION,
    KEEP_IN_DOCUMENT,
    PARKED_COLLECTION,
    OutboxRelay,
    configure_hand_off,
    flush_hand_off,
    record_intents,
)
from dbt_shared.events.publisher import EventPublisher
from dbt_shared.events.topics import ensure_topics, with_dead_letters
from dbt_shared.worker import WorkerContext, housekeeping
from notifications import bootstrap as notification_bootstrap
from notifications import handlers as notification_handlers
from notifications import repository as notification_store
from support import committed_offset, header, read_topic, referral_event, wait_until

CLOCK = SystemClock()
# These tests write without a hand-off (as a process that died right after its write): the
# relay must send at once what it finds, rather than leave young intents to the hand-off.
AS_IF_NO_HAND_OFF = {"hand_off_time": timedelta(0)}
TOPIC = intake.TOPIC.name
DLQ = TOPIC + ".dlq"


def notification_handlers_on(db) -> dict:
    """Notifications' real handlers, recording into ``db`` (nothing is sent in these tests)."""
    return notification_handlers.handlers(notification_bootstrap.bootstrap(None, db, CLOCK))


@pytest.fixture(scope="module")
def topics(infra):
    ensure_topics(infra.kafka_bootstrap, with_dead_letters(ALL_TOPICS))


@pytest.fixture
def publisher(infra, topics):
    pub = EventPublisher(infra.kafka_bootstrap, "test", CATALOG)
    yield pub
    pub.close()


class RunningConsumer:
    def __init__(self, runner: ConsumerRunner) -> None:
        self.runner = runner
        self.thread = threading.Thread(target=runner.run, daemon=True)

    def __enter__(self) -> ConsumerRunner:
        self.thread.start()
        return self.runner

    def __exit__(self, *exc) -> None:
        self.runner.stop()
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "consumer did not stop on request"


def consumer(infra, db, publisher, handlers, group: str, **kwargs) -> RunningConsumer:
    return RunningConsumer(
        ConsumerRunner(
            service="test",
            bootstrap_servers=infra.kafka_bootstrap,
            db=db,
            clock=CLOCK,
            handlers=handlers,
            publisher=publisher,
            catalog=CATALOG,
            group_id=group,
            **kwargs,
        )
    )


def dead_letters_of(infra, group: str) -> list:
    return [
        r
        for r in read_topic(infra.kafka_bootstrap, DLQ)
        if header(r, "dlq_consumer_group") == group
    ]


def records_of(infra, event_id: str, topic: str = TOPIC) -> list:
    return [r for r in read_topic(infra.kafka_bootstrap, topic) if header(r, "ce_id") == event_id]


def test_outbox_relay_publishes_each_event_once_in_order_without_touching_the_document(
    infra, fresh_db, publisher
):
    site_id = str(uuid.uuid4())
    referral_id = str(uuid.uuid4())  # one aggregate: one key, one partition, one order
    first, second = referral_event(site_id, referral_id), referral_event(site_id, referral_id)
    things = MongoDocumentStore(fresh_db.things)
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
    things = MongoDocumentStore(fresh_db.things)
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
    things = MongoDocumentStore(fresh_db.things)
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
    MongoDocumentStore(fresh_db.things).insert({"_id": written.key}, [written])
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
    things = MongoDocumentStore(fresh_db.things)
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
    configure_hand_off(lambda: publisher)
    try:  # one write, one hand-off, one send: the refused event amid the others
        MongoDocumentStore(fresh_db.things).insert({"_id": "doc"}, [before, too_large, after])
        flush_hand_off()
    finally:
        configure_hand_off(None)
    assert len(records_of(infra, before.id)) == 1
    assert len(records_of(infra, after.id)) == 1
    assert [p["_id"] for p in fresh_db[PARKED_COLLECTION].find()] == [too_large.id]
    assert fresh_db[INTENTS_COLLECTION].count_documents({}) == 0, "nothing left for the relay"


def test_relay_crash_after_publish_republishes_and_the_consumer_has_one_effect(
    infra, fresh_db, publisher
):
    site_id = str(uuid.uuid4())
    event = referral_event(site_id)
    MongoDocumentStore(fresh_db.referrals).insert({"_id": event.key}, [event])

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


def test_poison_and_failing_events_go_to_the_dead_letter_topic_and_the_consumer_moves_on(
    infra, fresh_db, publisher
):
    site_id = str(uuid.uuid4())
    group = f"test-dlq-{uuid.uuid4().hex[:8]}"
    calls: list[str] = []

    def fragile_handler(event, data, ctx):
        if data["site_id"] == site_id:
            calls.append(event.id)
            raise ValueError("handler cannot cope")

    # 1. data that breaks the contract (no site_id)
    bad = referral_event(site_id)
    key, value, headers = bad.to_kafka()
    value = value.replace(b'"site_id"', b'"nothing"')
    publisher.send_raw(TOPIC, key, value, headers)
    # 2. not a CloudEvent at all
    publisher.send_raw(TOPIC, b"junk", b"\x00\x01garbage", [("origin", group.encode())])
    # 3. a valid event whose handler keeps failing
    failing = new_event(
        "intake",
        intake.SITE_REGISTERED,
        key=site_id,
        subject=f"sites/{site_id}",
        data={
            "site_id": site_id,
            "timezone": "UTC",
            "registered_at": datetime.now(UTC).isoformat(),
        },
        clock=CLOCK,
        catalog=CATALOG,
    )
    publisher.publish([failing])
    # 4. and after them, a good one that must still be handled
    good = referral_event(str(uuid.uuid4()))
    publisher.publish([good])

    handlers = {
        intake.SITE_REGISTERED: fragile_handler,
        intake.REFERRAL_RECEIVED: notification_handlers_on(fresh_db)[intake.REFERRAL_RECEIVED],
    }
    with consumer(
        infra, fresh_db, publisher, handlers, group, max_attempts=3, backoff_initial_s=0.05
    ):
        wait_until(
            lambda: fresh_db[notification_store.INBOX].count_documents({"referral_id": good.key}),
            timeout=60,
            what="the good event beside the poison ones to be handled",
        )
        dead = wait_until(
            lambda: len(mine := dead_letters_of(infra, group)) >= 3 and mine,
            timeout=60,
            what="three dead letters",
        )

    by_type = {header(r, "dlq_error_type"): r for r in dead}
    assert set(by_type) == {"EventSchemaError", "EnvelopeError", "ValueError"}
    schema_error = by_type["EventSchemaError"]
    assert "site_id" in header(schema_error, "dlq_error")
    assert header(schema_error, "ce_id") == bad.id, "the original record travels unchanged"
    assert header(schema_error, "dlq_original_topic") == TOPIC
    assert by_type["EnvelopeError"].value == b"\x00\x01garbage"
    failed = by_type["ValueError"]
    assert header(failed, "dlq_attempts") == "3"
    assert "handler cannot cope" in header(failed, "dlq_error")
    assert calls == [failing.id] * 3, "retried exactly max_attempts times"


def test_a_batch_that_keeps_failing_is_taken_one_by_one_and_only_its_culprit_is_dead_lettered(
    infra, fresh_db, publisher
):
    group = f"test-batch-{uuid.uuid4().hex[:8]}"
    culprit_site = str(uuid.uuid4())
    good = [referral_event(str(uuid.uuid4())) for _ in range(6)]
    culprit = referral_event(culprit_site)
    publisher.publish([*good[:3], culprit, *good[3:]])
    stored: list[str] = []
    calls: list[int] = []

    def record_all(batch, _ctx):
        calls.append(len(batch))
        if any(data["site_id"] == culprit_site for _, data in batch):
            raise ValueError("one record of the batch cannot be handled")
        stored.extend(event.id for event, _ in batch)

    handlers = {intake.REFERRAL_RECEIVED: batched(record_all)}
    with consumer(
        infra, fresh_db, publisher, handlers, group, max_attempts=2, backoff_initial_s=0.05
    ):
        # (the topic also holds earlier tests' records: this group handles those too)
        def culprits():
            return [r for r in dead_letters_of(infra, group) if header(r, "ce_id") == culprit.id]

        wait_until(
            lambda: {e.id for e in good} <= set(stored) and culprits(),
            timeout=60,
            what="the good records handled and the culprit dead-lettered",
        )

    [dead] = culprits()
    assert header(dead, "dlq_error_type") == "ValueError"
    assert [stored.count(e.id) for e in good] == [1] * len(good), "each good record once"
    assert culprit.id not in stored
    marks = fresh_db["processed_events"]
    assert all(marks.find_one({"_id": e.dedup_key}) for e in good), "marked as processed"
    today = retention.day_of(datetime.now(UTC))
    days = {marks.find_one({"_id": e.dedup_key})["day"] for e in good}
    assert days <= {today - 1, today}, "each mark says the day housekeeping forgets it by"


def test_housekeeping_forgets_old_dedup_records_and_idempotency_keys_but_not_recent_ones(
    fresh_db,
):
    now = datetime.now(UTC)

    def written(record_id: str, at: datetime, field: str) -> dict:
        # as the consumer and the Idempotency-Key wrapper store them
        return {"_id": record_id, field: at, **retention.stamp(at)}

    fresh_db.processed_events.insert_many(
        [
            written("old", now - timedelta(days=30), "processed_at"),
            written("past its 14 days", now - timedelta(days=15), "processed_at"),
            written("within its 14 days", now - timedelta(days=13), "processed_at"),
            written("new", now, "processed_at"),
        ]
    )
    fresh_db.idempotency_keys.insert_many(
        [written("old", now - timedelta(days=3), "created_at"), written("new", now, "created_at")]
    )
    fresh_db.audit_log.insert_one({"_id": "kept", "at": now - timedelta(days=4000)})
    ctx = WorkerContext(
        settings=None, db=fresh_db, clock=SystemClock(), service_tokens=None, stop=threading.Event()
    )
    housekeeping(ctx)
    kept = sorted(d["_id"] for d in fresh_db.processed_events.find())
    assert kept == ["new", "within its 14 days"]
    assert [d["_id"] for d in fresh_db.idempotency_keys.find()] == ["new"]
    assert fresh_db.audit_log.count_documents({}) == 1, "the audit trail is never pruned here"
