"""The consumer runner against the real broker and database, in-process: poison events and
failing handlers go to the dead-letter topic while the consumer moves on, a failing batch is
taken one by one, and housekeeping forgets only what is old."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

from broker_harness import CLOCK, TOPIC, consumer, notification_handlers_on

from dbt_shared import retention
from dbt_shared.clock import SystemClock
from dbt_shared.contracts import CATALOG, intake
from dbt_shared.events.consumer import batched
from dbt_shared.events.envelope import new_event
from dbt_shared.worker import WorkerContext, housekeeping
from notifications import repository as notification_store
from support import header, read_topic, referral_event, wait_until

DLQ = TOPIC + ".dlq"


def dead_letters_of(infra, group: str) -> list:
    return [
        r
        for r in read_topic(infra.kafka_bootstrap, DLQ)
        if header(r, "dlq_consumer_group") == group
    ]


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
    ctx = WorkerContext(settings=None, db=fresh_db, clock=SystemClock(), stop=threading.Event())
    housekeeping(ctx)
    kept = sorted(d["_id"] for d in fresh_db.processed_events.find())
    assert kept == ["new", "within its 14 days"]
    assert [d["_id"] for d in fresh_db.idempotency_keys.find()] == ["new"]
    assert fresh_db.audit_log.count_documents({}) == 1, "the audit trail is never pruned here"
