"""``/v1/sites/{site_id}/inbox``: a site inbox's read marks and unread count, for the site's
coordinators (and operators): a badge in the console, and an item marked read once seen."""

from __future__ import annotations

from flask.views import MethodView

from dbt_shared.auth import current_principal, require_roles
from dbt_shared.vocabulary import COORDINATING
from dbt_shared.web import Blueprint, components
from notifications.schemas import InboxItem, NotificationFigures, UnreadCount
from notifications.services import inbox

blp = Blueprint(
    "site_inbox", __name__, url_prefix="/v1/sites", description="Site inboxes: read marks"
)


@blp.route("/<site_id>/inbox/<item_id>/read")
class InboxItemRead(MethodView):
    @require_roles(*COORDINATING)
    @blp.response(200, InboxItem)
    def post(self, site_id, item_id):
        """Mark one of the site's inbox items read; marking it again changes nothing. Audited."""
        return inbox.mark_read(site_id, item_id, components(), current_principal())


@blp.route("/<site_id>/inbox/unread-count")
class InboxUnreadCount(MethodView):
    @require_roles(*COORDINATING)
    @blp.response(200, UnreadCount)
    def get(self, site_id):
        """How many of the site's inbox items nobody has marked read (a kept count)."""
        return inbox.unread_count(site_id, components(), current_principal())


@blp.route("/<site_id>/notification-figures")
class SiteNotificationFigures(MethodView):
    @require_roles(*COORDINATING)
    @blp.response(200, NotificationFigures)
    def get(self, site_id):
        """The site's figures for the operators' overview: unread inbox items, deliveries that
        failed for good in the last 7 days (kept counts, no client data)."""
        return inbox.site_figures(site_id, components(), current_principal())
