"""Events intake publishes on ``dbt.intake.events`` (key: the site or referral id)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from dbt_shared.events.catalog import EventType
from dbt_shared.events.topics import Topic

TOPIC = Topic("dbt.intake.events")

SITE_REGISTERED = "intake.site.registered.v1"
REFERRAL_RECEIVED = "intake.referral.received.v1"

PROGRAMS = ("adult", "adolescent")


class SiteRegisteredV1(Schema):
    site_id = fields.String(required=True)
    timezone = fields.String(required=True, metadata={"description": "IANA time zone"})
    registered_at = fields.DateTime(required=True)


class ReferralReceivedV1(Schema):
    referral_id = fields.String(required=True)
    site_id = fields.String(required=True)
    program = fields.String(required=True, validate=validate.OneOf(PROGRAMS))
    received_at = fields.DateTime(required=True)


EVENT_TYPES = [
    EventType(
        SITE_REGISTERED,
        TOPIC,
        SiteRegisteredV1,
        "An operator registered a site (clinic). Details such as the intake email stay in "
        "intake: fetch them from GET /v1/sites/{id} with a service token.",
    ),
    EventType(
        REFERRAL_RECEIVED,
        TOPIC,
        ReferralReceivedV1,
        "A coordinator recorded a new referral. Ids only: the client's details stay in intake.",
    ),
]
