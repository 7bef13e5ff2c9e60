"""Notifications' HTTP API: the site inbox."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from dbt_shared.auth import require_roles, require_site
from dbt_shared.pagination import page
from dbt_shared.web import context
from notifications import store
from notifications.schemas import InboxArgs, InboxPage

inbox = Blueprint("inbox", __name__, url_prefix="/v1/inbox", description="Site inboxes")


@inbox.route("")
class Inbox(MethodView):
    @require_roles("coordinator", "operator")
    @inbox.arguments(InboxArgs, location="query")
    @inbox.response(200, InboxPage)
    def get(self, args):
        """The site's inbox, oldest first (coordinators of the site)."""
        require_site(args["site_id"], "site")
        items, cursor = page(
            context().db[store.INBOX],
            {"site_id": args["site_id"]},
            limit=args["limit"],
            cursor=args["cursor"],
        )
        return {"items": items, "next_cursor": cursor}
