"""Consumer lanes on the real broker: notifications' crisis requests (coaching's topic, its
``URGENT_TOPICS``) are handled by a consumer of their own while the routine lane is in the
middle of a large backlog of referrals, in the service's one consumer group.

Notifications' real handlers write into a database of the test's own; the routine lane's
referral handler is held on its first poll until the page is stored (or a deadline passes),
so the test shows what a clinic would see: the page does not wait for the backlog.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime

import pytest
from kafka import TopicPartition

from dbt_shared.clock import SystemClock
from dbt_shared.contracts import ALL_TOPICS, CATALOG, coaching, intake
from dbt_shared.events.consumer import batched
from dbt_shared.events.envelope import new_event
from dbt_shared.events.lanes import ROUTINE, URGENT, consumer_lanes
from dbt_shared.events.publisher import EventPublisher
from dbt_shared.events.topics import ensure_topics, with_dead_letters
from dbt_shared.storage.context import Storage
from notifications import bootstrap as notification_bootstrap
from notifications import handlers as notification_handlers
from notifications.repository import DELIVERIES
from support import committed_offset, referral_event, wait_until

CLOCK = SystemClock()
BACKLOG = 3000  # several polls of 500


def crisis_request(site_id: str, clinician_id: str) -> object:
    request_id = str(uuid.uuid4())
    return new_event(
        "coaching",
        coaching.REQUEST_CREATED,
        key=request_id,
        subject=f"requests/{request_id}",
        data={
            "request_id": request_id,
            "client_id": str(uuid.uuid4()),
            "site_id": site_id,
            "kind": "crisis",
            "status": "open",
            "crisis": True,
            "routed_to": clinician_id,
            "notified": [clinician_id],
            "notify_clinical_lead": False,
            "notify_site_intake": False,
            "acknowledge_by": None,
            "call_back_by": None,
            "created_at": datetime.now(UTC).isoformat(),
        },
        clock=CLOCK,
        catalog=CATALOG,
    )


@pytest.fixture
def publisher(infra):
    ensure_topics(infra.kafka_bootstrap, with_dead_letters(ALL_TOPICS))
    pub = EventPublisher(infra.kafka_bootstrap, "test", CATALOG)
    yield pub
    pub.close()


def test_a_crisis_request_is_paged_while_the_routine_lane_works_through_a_backlog(
    infra, fresh_db, publisher
):
    site_id, clinician_id = str(uuid.uuid4()), str(uuid.uuid4())
    group = f"lanes-{uuid.uuid4().hex[:8]}"
    real = notification_handlers.handlers(notification_bootstrap.wire(Storage(fresh_db), CLOCK))
    paged = threading.Event()
    busy = threading.Event()
    polls: list[tuple[int, bool]] = []  # per referral batch of this site: its size, page out
    referrals_of_site: list[str] = []

    def on_referrals(batch, ctx) -> None:
        ours = [event for event, data in batch if data["site_id"] == site_id]
        if ours and not busy.is_set():
            busy.set()  # the backlog's first poll is in hand: the crisis request goes now
            paged.wait(timeout=60)  # held while the page is made, at most a minute
        polls.append((len(ours), paged.is_set()))
        real[intake.REFERRAL_RECEIVED].batch(batch, ctx)
        referrals_of_site.extend(str(event.id) for event in ours)

    def on_requests(batch, ctx) -> None:
        real[coaching.REQUEST_CREATED].batch(batch, ctx)
        if any(data["site_id"] == site_id for _, data in batch):
            paged.set()

    handlers = {
        **real,
        intake.REFERRAL_RECEIVED: batched(on_referrals),
        coaching.REQUEST_CREATED: batched(on_requests),
    }
    lanes = consumer_lanes(
        service="notifications",
        bootstrap_servers=infra.kafka_bootstrap,
        db=fresh_db,
        clock=CLOCK,
        handlers=handlers,
        publisher=publisher,
        catalog=CATALOG,
        group_id=group,
        urgent_topics=notification_handlers.URGENT_TOPICS,
    )
    assert set(lanes) == {ROUTINE, URGENT}
    threads = [threading.Thread(target=runner.run, daemon=True) for runner in lanes.values()]
    for thread in threads:
        thread.start()
    try:
        # Both lanes in the group with their partitions (a member joining makes the other
        # rejoin at its next poll): each has handled an event of its own topic.
        warm_site = str(uuid.uuid4())
        publisher.publish([referral_event(warm_site), crisis_request(warm_site, clinician_id)])
        wait_until(
            lambda: (
                fresh_db[DELIVERIES].count_documents({"site_id": warm_site})
                and any(n == 0 for n, _ in polls)
            ),
            timeout=90,
            what="both lanes joined",
        )

        publisher.publish([referral_event(site_id) for _ in range(BACKLOG)])
        wait_until(busy.is_set, timeout=60, what="the routine lane busy with the backlog")
        crisis = crisis_request(site_id, clinician_id)
        publisher.publish([crisis])

        wait_until(lambda: len(referrals_of_site) == BACKLOG, timeout=180, what="the whole backlog")
    finally:
        for runner in lanes.values():
            runner.stop()
        for thread in threads:
            thread.join(timeout=30)

    ours = [(n, page_out) for n, page_out in polls if n]
    # the page was stored while the routine lane still held the backlog's first poll
    assert ours[0][1], "the crisis request waited for the routine lane's poll"
    assert sum(n for n, _ in ours) >= BACKLOG and len(ours) > 1  # the backlog: several polls
    page = fresh_db[DELIVERIES].find_one({"site_id": site_id, "recipient_id": clinician_id})
    assert page is not None and page["priority"] == "urgent"
    # one group: each lane committed its own topic's offsets in it
    for topic in (intake.TOPIC.name, coaching.TOPIC.name):
        assert any(
            committed_offset(infra.kafka_bootstrap, group, TopicPartition(topic, p)) > 0
            for p in range(CATALOG.get(intake.REFERRAL_RECEIVED).topic.partitions)
        ), topic
