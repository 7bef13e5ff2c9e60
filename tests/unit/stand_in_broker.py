"""A stand-in for the broker under the real consumer runner: a list of polls and a record of
commits (``Broker``, put in kafka-python's place by ``runner_on``), a database and a
dead-letter publisher that can fail on cue, and the events the tests feed it. Used by
``test_consumer_offsets``, ``test_consumer_lanes``, ``test_worker_readiness`` and
``test_alert_metrics``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from kafka import TopicPartition
from kafka.errors import KafkaTimeoutError

from dbt_shared.clock import SystemClock
from dbt_shared.contracts import CATALOG, coaching, intake
from dbt_shared.events import consumer as consumer_module
from dbt_shared.events.consumer import ConsumerRunner
from dbt_shared.events.envelope import Event, new_event

INTAKE = intake.TOPIC.name
CLOCK = SystemClock()


@dataclass
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes
    value: bytes
    headers: list
    timestamp: int = 0


def record(event: Event, offset: int, topic: str = INTAKE) -> Record:
    key, value, headers = event.to_kafka()
    return Record(topic, 0, offset, key, value, headers)


def referral(site_id: str = "site-1", service: str = "intake") -> Event:
    return new_event(
        service,
        intake.REFERRAL_RECEIVED,
        key="r-1",
        subject="referrals/r-1",
        data={
            "referral_id": "r-1",
            "site_id": site_id,
            "program": "adult",
            "received_at": datetime.now(UTC).isoformat(),
        },
        clock=CLOCK,
        catalog=CATALOG,
    )


def site_registered(site_id: str = "site-1") -> Event:
    return new_event(
        "intake",
        intake.SITE_REGISTERED,
        key=site_id,
        subject=f"sites/{site_id}",
        data={"site_id": site_id, "timezone": "UTC", "registered_at": datetime.now(UTC)},
        clock=CLOCK,
        catalog=CATALOG,
    )


@dataclass
class Broker:
    """What the stand-in consumers read (one list of records per poll, each poll given once
    per group session) and what they committed."""

    polls: list[list[Record]]
    commits: list[dict] = field(default_factory=list)
    sessions: int = 0
    on_session: object = None  # called with the session number when a consumer is made

    def committed(self, tp: TopicPartition) -> int | None:
        offsets = [c[tp].offset for c in self.commits if tp in c]
        return offsets[-1] if offsets else None


class StandInConsumer:
    broker: Broker  # set per test

    def __init__(self, **_config) -> None:
        self.broker.sessions += 1
        if self.broker.on_session:
            self.broker.on_session(self.broker.sessions)
        start = self.broker.committed(TopicPartition(INTAKE, 0)) or 0
        # a new session reads again from the committed offset, as a group member does
        self.polls = [[r for r in poll if r.offset >= start] for poll in self.broker.polls]
        self.runner: ConsumerRunner | None = None

    def subscribe(self, topics) -> None:
        pass

    def poll(self, timeout_ms: int = 0) -> dict:
        if not self.polls:
            if self.runner is not None:
                self.runner.stop()  # everything read: the test is over
            return {}
        run = self.polls.pop(0)
        return {TopicPartition(INTAKE, 0): run} if run else {}

    def assignment(self):
        return {TopicPartition(INTAKE, 0)}

    def highwater(self, tp):
        return None  # no fetch metadata here: the consumer lag is left at 0

    def commit(self, offsets: dict) -> None:
        self.broker.commits.append(dict(offsets))

    def close(self, autocommit: bool = False) -> None:
        pass


class Marks:
    """``processed_events``: the dedup records the runner keeps."""

    def __init__(self) -> None:
        self.ids: set[str] = set()

    def find_one(self, query, projection=None):
        return {"_id": query["_id"]} if query["_id"] in self.ids else None

    def insert_many(self, documents, ordered=False):
        self.ids.update(d["_id"] for d in documents)


class Db(dict):
    def __missing__(self, name):
        self[name] = Marks()
        return self[name]


class DeadLetters:
    def __init__(self, failing: bool = False) -> None:
        self.sent: list[tuple[str, dict]] = []
        self.failing = failing

    def send_raw(self, topic, key, value, headers) -> None:
        if self.failing:  # the broker is down: the dead-letter topic cannot be reached
            raise KafkaTimeoutError("no broker")
        self.sent.append((topic, {k: v.decode() for k, v in headers}))


def runner_on(broker: Broker, handlers: dict, publisher, monkeypatch, **kwargs) -> ConsumerRunner:
    runner = ConsumerRunner(
        service="test",
        bootstrap_servers="stand-in",
        db=Db(),
        clock=CLOCK,
        handlers=handlers,
        publisher=publisher,
        catalog=CATALOG,
        backoff_initial_s=0.001,
        backoff_max_s=0.001,
        **kwargs,
    )

    class Consumer(StandInConsumer):
        def __init__(self, **config) -> None:
            super().__init__(**config)
            self.runner = runner

    Consumer.broker = broker
    monkeypatch.setattr(consumer_module, "KafkaConsumer", Consumer)
    return runner


TP = TopicPartition(INTAKE, 0)


def crisis_request() -> Event:
    return new_event(
        "coaching",
        coaching.REQUEST_CREATED,
        key="req-1",
        subject="requests/req-1",
        data={
            "request_id": "req-1",
            "client_id": "client-1",
            "site_id": "site-1",
            "kind": "crisis",
            "status": "open",
            "crisis": True,
            "routed_to": "clin-1",
            "notified": ["clin-1"],
            "notify_clinical_lead": False,
            "notify_site_intake": False,
            "acknowledge_by": None,
            "call_back_by": None,
            "created_at": datetime.now(UTC).isoformat(),
        },
        clock=CLOCK,
        catalog=CATALOG,
    )
