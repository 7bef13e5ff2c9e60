"""Notifications' HTTP schemas."""

from __future__ import annotations

from marshmallow import Schema, fields

from dbt_shared.http_fields import Id
from dbt_shared.pagination import Page, PageArgs, cursor_field


class InboxArgs(PageArgs):
    site_id = Id(required=True, metadata={"description": "the site whose inbox"})
    cursor = cursor_field()


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


class InboxPage(Page):
    items = fields.List(fields.Nested(InboxItem))
