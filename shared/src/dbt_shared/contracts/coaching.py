"""Events coaching publishes on ``dbt.coaching.events`` (key: the request or client id)."""

from __future__ import annotations

from dbt_shared.events.catalog import EventType
from dbt_shared.events.topics import Topic

TOPIC = Topic("dbt.coaching.events")

EVENT_TYPES: list[EventType] = []
