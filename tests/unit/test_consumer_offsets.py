"""The consumer runner against a stand-in broker: which offsets it commits when a batch fails,
and which sources it accepts a type from.

The broker here is a list of polls and a record of commits (``stand_in_broker``; the real one is
in ``tests/integration/test_consumer_on_broker.py``); the runner, its parsing, dead-lettering
and committing are the real code.
"""

from __future__ import annotations

import pytest
from kafka import TopicPartition
from pymongo.errors import OperationFailure
from stand_in_broker import (
    INTAKE,
    TP,
    Broker,
    DeadLetters,
    Record,
    StandInConsumer,
    crisis_request,
    record,
    referral,
    runner_on,
    site_registered,
)

from dbt_shared.contracts import coaching, intake
from dbt_shared.events import consumer as consumer_module
from dbt_shared.events.consumer import ConsumerRunner, batched


def test_sigterm_while_a_batch_is_retried_commits_nothing_past_what_was_handled(monkeypatch):
    """The notifications worker is stopped while its risk-flag batch fails (the database
    answers errors): the records of that batch are read again after the restart."""
    handled_first = site_registered()
    retried = [referral("site-a"), referral("site-b")]
    broker = Broker(
        polls=[[record(handled_first, 10), *(record(e, 11 + i) for i, e in enumerate(retried))]]
    )
    stored: list[str] = []
    runner: ConsumerRunner | None = None

    def failing_batch(batch, _ctx):
        runner.stop()  # SIGTERM arrives while the batch is being retried
        raise RuntimeError("the database refused the write")

    handlers = {
        intake.SITE_REGISTERED: lambda event, _data, _ctx: stored.append(event.id),
        intake.REFERRAL_RECEIVED: batched(failing_batch),
    }
    runner = runner_on(broker, handlers, DeadLetters(), monkeypatch, max_attempts=5)
    runner.run()

    assert stored == [handled_first.id]
    assert broker.committed(TP) == 11, "committed up to the handled record, not past the retried"


def test_a_dead_letter_that_cannot_be_sent_leaves_its_record_uncommitted(monkeypatch):
    """The broker goes down while a record is being given up on: it is not committed (it is
    neither handled nor dead-lettered); once the broker is back it is dead-lettered."""
    good, bad = referral("site-good"), referral("site-bad")
    broker = Broker(polls=[[record(good, 5), record(bad, 6)]])
    stored: list[str] = []
    dead_letters = DeadLetters(failing=True)

    def handle(batch, _ctx):
        if any(data["site_id"] == "site-bad" for _e, data in batch):
            raise ValueError("cannot cope")
        stored.extend(e.id for e, _d in batch)

    committed_when_back: list[int | None] = []

    def on_session(n: int) -> None:
        if n == 2:
            committed_when_back.append(broker.committed(TP))
            dead_letters.failing = False  # the broker is back for the second session

    broker.on_session = on_session
    runner = runner_on(
        broker,
        {intake.REFERRAL_RECEIVED: batched(handle)},
        dead_letters,
        monkeypatch,
        max_attempts=1,
    )
    runner.run()

    assert committed_when_back[0] in (None, 5, 6), "never past the record not dead-lettered"
    assert broker.sessions == 2, "the failure ended the first session"
    assert [headers["ce_id"] for _t, headers in dead_letters.sent] == [bad.id]
    assert broker.committed(TP) == 7, "past both once the bad one is dead-lettered"
    assert stored.count(good.id) >= 1


@pytest.mark.parametrize(
    ("claimed_source", "topic"),
    [("coaching", INTAKE), ("intake", coaching.TOPIC.name)],
    ids=["another-service's-source", "another-service's-topic"],
)
def test_a_type_is_accepted_only_from_its_owner_on_its_owners_topic(
    monkeypatch, claimed_source, topic
):
    """A record of ``intake.referral.received.v1`` published as coaching (or on coaching's
    topic) is never handled: it goes to the dead-letter topic; intake's own is handled."""
    forged = referral("site-forged", service=claimed_source)
    genuine = referral("site-genuine")
    broker = Broker(polls=[[record(forged, 0, topic=topic), record(genuine, 1)]])
    stored: list[str] = []
    dead_letters = DeadLetters()

    def handle(batch, _ctx):
        stored.extend(data["site_id"] for _e, data in batch)

    runner = runner_on(
        broker, {intake.REFERRAL_RECEIVED: batched(handle)}, dead_letters, monkeypatch
    )
    runner.run()

    assert stored == ["site-genuine"]
    [(dlq_topic, headers)] = dead_letters.sent
    assert dlq_topic == topic + ".dlq"
    assert headers["ce_id"] == forged.id
    assert headers["dlq_error_type"] == "NotFromOwner"
    assert broker.committed(TP) == 2


# What FerretDB answers while the PostgreSQL behind it is down (seen on the local stack).
BACKEND_DOWN = OperationFailure(
    "[msg_insert.go:168 handler.(*Handler).MsgInsert] FATAL: terminating connection due to "
    "unexpected postmaster exit (SQLSTATE 57P01)",
    code=1,
)


def test_a_database_behind_ferretdb_being_down_never_dead_letters_an_event(monkeypatch):
    """PostgreSQL is down for longer than the handler's attempts last: FerretDB answers
    errors, not a lost connection; the risk flag waits for it and is handled, never given up."""
    risk = referral("site-risk")
    broker = Broker(polls=[[record(risk, 3)]])
    calls: list[int] = []
    dead_letters = DeadLetters()

    def handle(batch, _ctx):
        calls.append(len(batch))
        if len(calls) <= 8:  # more failures than max_attempts
            raise BACKEND_DOWN

    runner = runner_on(
        broker,
        {intake.REFERRAL_RECEIVED: batched(handle)},
        dead_letters,
        monkeypatch,
        max_attempts=3,
    )
    runner.run()

    assert dead_letters.sent == []
    assert len(calls) == 9, "waited out, then handled"
    assert broker.committed(TP) == 4


def test_sigterm_while_the_database_is_away_commits_nothing_and_stops(monkeypatch):
    risk = referral("site-risk")
    broker = Broker(polls=[[record(risk, 3)]])
    runner: ConsumerRunner | None = None

    def handle(batch, _ctx):
        runner.stop()  # SIGTERM while the database is away
        raise BACKEND_DOWN

    runner = runner_on(
        broker, {intake.REFERRAL_RECEIVED: batched(handle)}, DeadLetters(), monkeypatch
    )
    runner.run()  # returns: a stop is never held up by the outage

    assert broker.committed(TP) is None, "read again after the restart"


def test_the_notifications_worker_handles_a_crisis_request_before_a_polls_referrals(monkeypatch):
    """A poll brings a backlog of referrals and a crisis request: the page is made first, and
    each partition's offsets are still committed only past what was handled."""
    from notifications import handlers as notification_handlers

    coaching_tp = TopicPartition(coaching.TOPIC.name, 0)
    backlog = [record(referral(f"site-{n}"), 100 + n) for n in range(50)]
    crisis = Record(coaching_tp.topic, 0, 7, *crisis_request().to_kafka())
    handled: list[str] = []

    class TwoTopics(StandInConsumer):
        def poll(self, timeout_ms: int = 0) -> dict:
            if not getattr(self, "given", False):
                self.given = True
                return {TP: backlog, coaching_tp: [crisis]}  # the referrals come first
            self.runner.stop()
            return {}

        def assignment(self):
            return {TP, coaching_tp}

    handlers = {
        intake.REFERRAL_RECEIVED: batched(
            lambda batch, _ctx: handled.extend(e.type for e, _ in batch)
        ),
        coaching.REQUEST_CREATED: batched(
            lambda batch, _ctx: handled.extend(e.type for e, _ in batch)
        ),
    }
    broker = Broker(polls=[])
    runner = runner_on(
        broker,
        handlers,
        DeadLetters(),
        monkeypatch,
        first_topics=notification_handlers.FIRST_TOPICS,
    )

    class Consumer(TwoTopics):
        def __init__(self, **config) -> None:
            super().__init__(**config)
            self.runner = runner

    Consumer.broker = broker
    monkeypatch.setattr(consumer_module, "KafkaConsumer", Consumer)
    runner.run()

    assert handled[0] == coaching.REQUEST_CREATED, "the page waited behind the referrals"
    assert handled.count(intake.REFERRAL_RECEIVED) == 50
