"""Notifications' HTTP schemas."""

from __future__ import annotations

from zoneinfo import available_timezones

from marshmallow import Schema, fields, validate

from dbt_shared.http_fields import Id, JsonInteger, List, Pattern
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
    read_at = fields.DateTime(
        metadata={"description": "when someone of the site marked it read (absent: unread)"}
    )


class NotificationFigures(Schema):
    site_id = fields.String()
    unread_inbox = fields.Integer(metadata={"description": "site inbox items nobody marked read"})
    failed_deliveries_7d = fields.Integer(
        metadata={"description": "deliveries failed for good today and the 6 days before (UTC)"}
    )


class UnreadCount(Schema):
    site_id = fields.String()
    unread = fields.Integer(metadata={"description": "the site's inbox items nobody marked read"})


class InboxPage(Page):
    items = fields.List(fields.Nested(InboxItem))


# -- a person's own inbox, preferences, a site's settings, the delivery audit --------------------
class MyInboxArgs(PageArgs):
    cursor = cursor_field()


class MyInboxItem(InboxItem):
    recipient_id = fields.String()
    request_id = fields.String(metadata={"description": "coaching items"})
    client_id = fields.String(metadata={"description": "items about a client (an id)"})
    session_id = fields.String(metadata={"description": "session notices"})
    day = fields.String(metadata={"example": "Tue 8 Dec"})
    time = fields.String(metadata={"example": "18:00"})
    sessions = fields.Integer(metadata={"description": "a digest's number of sessions"})
    status_note = fields.String(metadata={"description": "held: by the 24-hour rule"})


class MyInboxPage(Page):
    items = fields.List(fields.Nested(MyInboxItem))


_HHMM = Pattern(r"^([01][0-9]|2[0-3]):[0-5][0-9]$", error="Use 24-hour HH:MM.")
TIMEZONES = tuple(sorted(available_timezones()))
_CHANNEL = fields.String(validate=validate.OneOf(("email", "sms", "inbox")))


class LocalWindow(Schema):
    start = fields.String(required=True, validate=_HHMM)
    end = fields.String(required=True, validate=_HHMM)


class Channels(Schema):
    reminders = List(_CHANNEL, max_items=3)
    coaching = List(_CHANNEL, max_items=3)
    attendance = List(_CHANNEL, max_items=3)
    administrative = List(_CHANNEL, max_items=3)


class PreferencesIn(Schema):
    channels = fields.Nested(Channels)
    preferred_channel = fields.String(validate=validate.OneOf(("email", "sms")))
    language = fields.String(validate=Pattern(r"^[a-z]{2,8}$", error="A language code."))
    timezone = fields.String(
        validate=validate.OneOf(TIMEZONES, error="Not an IANA time zone name.")
    )
    quiet_hours = fields.Nested(LocalWindow, allow_none=True)
    sms_opted_out = fields.Boolean()


class Preferences(PreferencesIn):
    recipient_id = fields.String()
    timezone = fields.String(allow_none=True)


class SiteSettingsIn(Schema):
    sms_window = fields.Nested(LocalWindow)
    reminder_offsets_minutes = fields.List(
        JsonInteger(validate=validate.Range(min=5, max=7 * 24 * 60)),
        validate=validate.Length(min=1, max=4),
    )


class SiteSettings(SiteSettingsIn):
    site_id = fields.String()


class DeliveryArgs(PageArgs):
    site_id = Id()
    recipient_id = Id()
    purpose = fields.String(validate=validate.Length(1, 40))
    status = fields.String(
        validate=validate.OneOf(("scheduled", "pending", "sent", "failed", "cancelled", "dropped"))
    )
    cursor = cursor_field()


class DeliveryAttempt(Schema):
    at = fields.DateTime()
    provider_status = fields.String()


class Delivery(Schema):
    id = fields.String()
    purpose = fields.String()
    channel = fields.String(allow_none=True)
    recipient_kind = fields.String()
    recipient_id = fields.String(allow_none=True)
    site_id = fields.String()
    session_id = fields.String(allow_none=True)
    status = fields.String(
        metadata={"description": "scheduled, held, pending, sent, failed, cancelled or dropped"}
    )
    due_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)
    attempts = fields.List(fields.Nested(DeliveryAttempt))


class DeliveryPage(Page):
    items = fields.List(fields.Nested(Delivery))
