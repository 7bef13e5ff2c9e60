"""A person's own inbox, their preferences, a site's notification settings, the delivery
audit, the SMS provider's inbound webhook (STOP / START). (The audit trail of reads is
``dbt_shared.audit``'s.)"""

from __future__ import annotations

from flask import Response, request
from flask.views import MethodView

from dbt_shared.auth import current_principal, require_roles, signed_request
from dbt_shared.vocabulary import COORDINATING, SITE_STAFF
from dbt_shared.web import Blueprint, components
from notifications import services
from notifications.schemas import (
    DeliveryArgs,
    DeliveryPage,
    MyInboxArgs,
    MyInboxPage,
    Preferences,
    PreferencesIn,
    SiteSettings,
    SiteSettingsIn,
)
from notifications.services import people

blp = Blueprint("people", __name__, url_prefix="/v1", description="People and deliveries")


@blp.route("/me/inbox")
class MyInbox(MethodView):
    @require_roles("client", "therapist", "facilitator", "coordinator")
    @blp.arguments(MyInboxArgs, location="query")
    @blp.response(200, MyInboxPage)
    def get(self, args):
        """The caller's own items (a clinician's coaching requests and alerts, a client's
        notices), oldest first."""
        page = services.my_inbox(args, components(), current_principal())
        return {"items": page.items, "next_cursor": page.next_cursor}


@blp.route("/preferences/<recipient_id>")
class RecipientPreferences(MethodView):
    @require_roles("client", *SITE_STAFF)
    @blp.response(200, Preferences)
    def get(self, recipient_id):
        """The preferences in force (the recipient, or the staff of their site).

        Channels per kind of message, preferred channel, language, time zone, quiet hours, SMS
        opt-out. What the recipient has not chosen follows what they told intake (preferred
        channel, language) and their site's time zone; ``sms_opted_out`` is true once a STOP
        came from their number. Each read is audited."""
        return people.get_preferences(recipient_id, components(), current_principal())

    @require_roles("client", *SITE_STAFF)
    @blp.arguments(PreferencesIn)
    @blp.response(200, Preferences)
    def put(self, body, recipient_id):
        """Change the preferences the body names; the others keep their values.

        A partial update: each field the body names replaces its value (``channels``: each
        category it names; ``quiet_hours: null``: no quiet hours), every field it leaves out
        keeps its value, and nothing is reset to a default. Concurrent changes of different
        fields both hold. Answers the preferences in force. Safety messages are never
        suppressed by them."""
        return people.put_preferences(recipient_id, body, components(), current_principal())


@blp.route("/sites/<site_id>/notification-settings")
class NotificationSettings(MethodView):
    @require_roles(*SITE_STAFF)
    @blp.response(200, SiteSettings)
    def get(self, site_id):
        """The site's SMS window (08:00-21:00 by default) and reminder offsets (24 h, 2 h)."""
        return people.site_settings(site_id, components(), current_principal())

    @require_roles(*COORDINATING)
    @blp.arguments(SiteSettingsIn)
    @blp.response(200, SiteSettings)
    def put(self, body, site_id):
        """Change the SMS window or the reminder offsets (minutes before a session); a field
        left out keeps its value (a partial update, like preferences)."""
        return people.put_site_settings(site_id, body, components(), current_principal())


@blp.route("/deliveries")
class Deliveries(MethodView):
    @require_roles("client", *SITE_STAFF)
    @blp.arguments(DeliveryArgs, location="query")
    @blp.response(200, DeliveryPage)
    def get(self, args):
        """Every delivery of a recipient or a site (neither: the caller's own), scheduled ones
        included, oldest first."""
        items, cursor = people.list_deliveries(args, components(), current_principal())
        return {"items": items, "next_cursor": cursor}


@blp.route("/sms/inbound")
class InboundSms(MethodView):
    @signed_request
    @blp.doc(security=[])
    def post(self):
        """The SMS provider's webhook (form-encoded ``From``, ``Body``), signed with
        ``X-Twilio-Signature``: STOP opts the number out of SMS, START back in. Unsigned or
        forged calls answer 403."""
        twiml = people.inbound_sms(
            request.url,
            request.form.to_dict(),
            request.headers.get("X-Twilio-Signature"),
            components(),
        )
        return Response(twiml, mimetype="application/xml")
