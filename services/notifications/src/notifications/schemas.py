"""Notifications' HTTP schemas."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class InboxArgs(Schema):
    site_id = fields.String(required=True, metadata={"description": "the site whose inbox"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(
        load_default=None, metadata={"description": "next_cursor of the last page"}
    )


class InboxItem(Schema):
    id = fields.String(attribute="_id")
    site_id = fields.String()
    kind = fields.String(
        metadata={"description": "referral_received or risk_flagged", "example": "risk_flagged"}
    )
    priority = fields.String(
        metadata={"description": "urgent items are listed first", "example": "urgent"}
    )
    referral_id = fields.String()
    program = fields.String(metadata={"description": "referral_received items"})
    screening_id = fields.String(metadata={"description": "risk_flagged items"})
    status = fields.String(metadata={"example": "open"})
    created_at = fields.DateTime()


class InboxPage(Schema):
    items = fields.List(fields.Nested(InboxItem))
    next_cursor = fields.String(allow_none=True)
