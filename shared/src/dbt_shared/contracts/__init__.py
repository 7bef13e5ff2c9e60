"""The published language between services: topics and event types, one module per producer.

These are contracts, not service internals: ids and codes only, never names, contact details or
clinical answers. A breaking change is a new type (``.v2``) registered beside the old one.
"""

from __future__ import annotations

from dbt_shared.contracts import coaching, intake, notifications, skills
from dbt_shared.events.catalog import Catalog
from dbt_shared.events.topics import Topic

CATALOG = Catalog()
for _module in (intake, skills, coaching, notifications):
    for _event_type in _module.EVENT_TYPES:
        CATALOG.register(_event_type)

ALL_TOPICS: list[Topic] = [intake.TOPIC, skills.TOPIC, coaching.TOPIC, notifications.TOPIC]
