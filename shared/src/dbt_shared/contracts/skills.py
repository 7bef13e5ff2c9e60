"""Events skills-group publishes on ``dbt.skills.events`` (key: the group or client id)."""

from __future__ import annotations

from dbt_shared.events.catalog import EventType
from dbt_shared.events.topics import Topic

TOPIC = Topic("dbt.skills.events")

EVENT_TYPES: list[EventType] = []
