"""Consumer lanes: a worker's urgent topics are read by a consumer of their own.

One consumer reads a poll (up to 500 records) and handles it before it polls again, so a record
that arrives meanwhile waits for the whole poll, however urgent (ordering inside one poll,
``first_topics``, cannot help it). A service that names urgent topics (its
``handlers.URGENT_TOPICS``) gets two lanes, each a ``ConsumerRunner`` in its own thread with its
own ``KafkaConsumer``: ``consumer:urgent`` subscribed to the urgent topics, ``consumer`` to the
rest. Both are members of the service's one consumer group: the group's assignor gives a topic's
partitions only to members subscribed to it (kafka-python's range and round-robin assignors
both look at each member's own subscription), so each partition has one reader as before and
the offsets committed so far stay valid (no new group reading the topic again from the start).
Every guarantee of the runner holds in each lane: it commits only settled records, dead-letters,
waits out outages, drains on SIGTERM. What lanes cost: a member joining or leaving (a start, a
reconnect, a stop) makes the group rebalance, and the other lane rejoins at its next poll.
"""

from __future__ import annotations

from typing import Any

from dbt_shared.events.catalog import Catalog
from dbt_shared.events.consumer import ConsumerRunner, Handler

ROUTINE = "consumer"
URGENT = "consumer:urgent"


def lane_handlers(
    handlers: dict[str, Handler], catalog: Catalog, urgent_topics: tuple[str, ...]
) -> dict[str, dict[str, Handler]]:
    """``handlers`` split by lane (a type goes with its topic); a lane with none is left out,
    and without urgent topics there is one lane, as before."""
    urgent = frozenset(urgent_topics)
    topics = {catalog.get(name).topic.name for name in handlers}
    unknown = sorted(urgent - topics)
    if unknown:  # a misspelt topic would quietly leave the urgent events in the routine lane
        raise ValueError(f"urgent topics with no handler here: {unknown}")
    lanes: dict[str, dict[str, Handler]] = {ROUTINE: {}, URGENT: {}}
    for name, handler in handlers.items():
        lane = URGENT if catalog.get(name).topic.name in urgent else ROUTINE
        lanes[lane][name] = handler
    return {lane: chosen for lane, chosen in lanes.items() if chosen} or {ROUTINE: {}}


def consumer_lanes(
    *,
    handlers: dict[str, Handler],
    catalog: Catalog,
    urgent_topics: tuple[str, ...] = (),
    **runner: Any,
) -> dict[str, ConsumerRunner]:
    """One runner per lane (see the module), all in the service's one consumer group; the
    worker runs each in its own thread and stops them all on SIGTERM."""
    return {
        lane: ConsumerRunner(handlers=chosen, catalog=catalog, lane=lane, **runner)
        for lane, chosen in lane_handlers(handlers, catalog, urgent_topics).items()
    }
