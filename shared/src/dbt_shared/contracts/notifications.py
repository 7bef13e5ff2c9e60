"""Events notifications publishes on ``dbt.notifications.events`` (key: the delivery id)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from dbt_shared import vocabulary
from dbt_shared.events.catalog import EventType
from dbt_shared.events.topics import Topic

TOPIC = Topic("dbt.notifications.events")

DELIVERY_SENT = "notifications.delivery.sent.v1"
DELIVERY_FAILED = "notifications.delivery.failed.v1"

CHANNELS = vocabulary.CHANNELS


class DeliveryOutcomeV1(Schema):
    delivery_id = fields.String(required=True)
    site_id = fields.String(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    purpose = fields.String(required=True, metadata={"description": "why it was sent, a code"})
    recipient_kind = fields.String(required=True, metadata={"description": "e.g. site_intake"})
    cause_event_id = fields.String(required=True)
    attempts = fields.Integer(required=True, validate=validate.Range(min=1))
    at = fields.DateTime(required=True)
    error = fields.String(load_default=None, dump_default=None, allow_none=True)


EVENT_TYPES = [
    EventType(DELIVERY_SENT, TOPIC, DeliveryOutcomeV1, "A notification left on its channel."),
    EventType(
        DELIVERY_FAILED,
        TOPIC,
        DeliveryOutcomeV1,
        "A notification could not be delivered after every retry.",
    ),
]
