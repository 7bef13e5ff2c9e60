"""Consumer lanes (``dbt_shared.events.lanes``): a worker's urgent topics read by a consumer of
their own, so a crisis request is handled while the routine lane is busy with a poll.

The runners, their parsing and committing are the real code; the broker is a stand-in that
gives each member the partitions of the topics it subscribed to, as kafka-python's assignors
do (checked here against the assignors themselves).
"""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest
from kafka import TopicPartition
from kafka.coordinator.assignors.range import RangePartitionAssignor
from stand_in_broker import CLOCK, Db, DeadLetters, Record, record, referral
from stand_in_broker import crisis_request as crisis_event

from dbt_shared.contracts import CATALOG, coaching, intake
from dbt_shared.events import consumer as consumer_module
from dbt_shared.events.consumer import batched
from dbt_shared.events.lanes import ROUTINE, URGENT, consumer_lanes, lane_handlers

INTAKE = intake.TOPIC.name
COACHING = coaching.TOPIC.name


def notification_handlers() -> dict:
    from notifications import handlers

    return handlers.handlers(None)  # the use cases are only called when an event comes


def test_notifications_reads_coachings_topic_in_a_lane_of_its_own():
    from notifications import handlers

    all_handlers = notification_handlers()
    lanes = lane_handlers(all_handlers, CATALOG, handlers.URGENT_TOPICS)

    assert set(lanes) == {ROUTINE, URGENT}
    assert coaching.REQUEST_CREATED in lanes[URGENT]
    assert {CATALOG.get(name).topic.name for name in lanes[URGENT]} == {COACHING}
    assert COACHING not in {CATALOG.get(name).topic.name for name in lanes[ROUTINE]}
    assert {**lanes[ROUTINE], **lanes[URGENT]} == all_handlers  # every handler, once


def test_without_urgent_topics_a_worker_has_one_consumer_as_before():
    lanes = lane_handlers(notification_handlers(), CATALOG, ())
    assert list(lanes) == [ROUTINE]


def test_an_urgent_topic_with_no_handler_is_refused_at_start():
    with pytest.raises(ValueError, match="urgent topics"):
        lane_handlers(notification_handlers(), CATALOG, ("dbt.coachng.v1",))


def test_kafka_pythons_range_assignor_gives_a_topic_only_to_the_lane_subscribed_to_it():
    """Both lanes are members of the service's one group: the range assignor (the one the
    runner asks for) gives coaching's partitions only to the urgent lane, intake's to the
    routine one, so each partition keeps one reader and the group's committed offsets stay
    valid."""
    partitions = {INTAKE: {0, 1, 2}, COACHING: {0, 1, 2}}
    cluster = SimpleNamespace(partitions_for_topic=lambda topic: partitions.get(topic))
    members = [
        SimpleNamespace(member_id=m, group_instance_id=None, metadata=SimpleNamespace(topics=t))
        for m, t in (("routine", [INTAKE]), ("urgent", [COACHING]))
    ]

    assignment = RangePartitionAssignor.assign(cluster, members)

    def topics_of(member: str) -> dict:
        return {topic: sorted(p) for topic, p in assignment[member].assigned_partitions}

    assert topics_of("routine") == {INTAKE: [0, 1, 2]}
    assert topics_of("urgent") == {COACHING: [0, 1, 2]}


class Member:
    """A stand-in group member: it reads the partitions of the topics it subscribed to."""

    polls: dict[str, list[list[Record]]]  # topic -> polls (set per test)
    commits: list[tuple[str, dict]]
    stopping: threading.Event

    def __init__(self, **config) -> None:
        self.client_id = config["client_id"]
        self.group_id = config["group_id"]
        self.topics: list[str] = []
        self.assignors = config.get("partition_assignment_strategy")

    def subscribe(self, topics) -> None:
        # kafka-python 3.0.12's round-robin assignor fails (KeyError) when members' subscriptions
        # differ: a lane's consumer must offer range only
        assert self.assignors == (RangePartitionAssignor,)
        self.topics = list(topics)

    def poll(self, timeout_ms: int = 0) -> dict:
        for topic in self.topics:
            if self.polls.get(topic):
                run = self.polls[topic].pop(0)
                return {TopicPartition(topic, 0): run}
        self.stopping.wait(0.01)
        return {}

    def assignment(self):
        return {TopicPartition(topic, 0) for topic in self.topics}

    def highwater(self, tp):
        return None  # no fetch metadata here: the consumer lag is left at 0

    def commit(self, offsets: dict) -> None:
        self.commits.append((self.client_id, dict(offsets)))

    def close(self, autocommit: bool = False) -> None:
        pass


def test_a_crisis_request_is_handled_while_the_routine_lane_handles_a_backlog(monkeypatch):
    """The routine lane is in the middle of a poll of 500 referrals (its handler holds until
    the crisis is handled, or gives up after a deadline): the urgent lane pages meanwhile. With
    one consumer the crisis request would wait for the poll to end."""
    backlog = [record(referral(f"site-{n}"), n) for n in range(500)]
    crisis = Record(COACHING, 0, 7, *crisis_event().to_kafka())
    paged = threading.Event()
    seen_by_routine: list[bool] = []
    order: list[str] = []

    def referrals(batch, _ctx) -> None:
        seen_by_routine.append(paged.wait(timeout=10))  # busy until the page is out
        order.append("referrals")

    def requests(batch, _ctx) -> None:
        order.append("crisis")
        paged.set()

    stop = threading.Event()
    Member.polls = {INTAKE: [backlog], COACHING: [[crisis]]}
    Member.commits = []
    Member.stopping = stop
    monkeypatch.setattr(consumer_module, "KafkaConsumer", Member)
    lanes = consumer_lanes(
        service="notifications",
        bootstrap_servers="stand-in",
        db=Db(),
        clock=CLOCK,
        handlers={
            intake.REFERRAL_RECEIVED: batched(referrals),
            coaching.REQUEST_CREATED: batched(requests),
        },
        publisher=DeadLetters(),
        catalog=CATALOG,
        urgent_topics=(COACHING,),
        backoff_initial_s=0.001,
        backoff_max_s=0.001,
    )
    threads = [threading.Thread(target=runner.run) for runner in lanes.values()]
    for thread in threads:
        thread.start()

    def all_committed() -> bool:
        done = {tp.topic: o.offset for _, offsets in Member.commits for tp, o in offsets.items()}
        return done.get(INTAKE) == 500 and done.get(COACHING) == 8

    deadline = threading.Event()
    for _ in range(1000):  # wait until both lanes committed, 10 s at most
        if all_committed():
            break
        deadline.wait(0.01)
    for runner in lanes.values():
        runner.stop()
    stop.set()
    for thread in threads:
        thread.join(timeout=10)

    assert seen_by_routine == [True], "the page waited for the routine lane's poll"
    assert order == ["crisis", "referrals"]
    assert all_committed()
    # each lane committed only its own partitions, under its own client id, in one group
    by_lane = {client: {tp.topic for tp in offsets} for client, offsets in Member.commits}
    assert by_lane == {
        "dbt-notifications-consumer": {INTAKE},
        "dbt-notifications-consumer:urgent": {COACHING},
    }
    assert {runner.group_id for runner in lanes.values()} == {"dbt-notifications"}
