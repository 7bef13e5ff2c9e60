"""``/v1/inbox``: a site's inbox, for the site's coordinators (and operators)."""

from __future__ import annotations

from flask.views import MethodView

from dbt_shared.auth import current_principal, require_roles
from dbt_shared.vocabulary import COORDINATING
from dbt_shared.web import Blueprint, components
from notifications import services
from notifications.schemas import InboxArgs, InboxPage

blp = Blueprint("inbox", __name__, url_prefix="/v1/inbox", description="Site inboxes")


@blp.route("")
class Inbox(MethodView):
    @require_roles(*COORDINATING)
    @blp.arguments(InboxArgs, location="query")
    @blp.response(200, InboxPage)
    def get(self, args):
        """The site's inbox (coordinators of the site): urgent items first, then the rest.

        Within each priority the oldest item comes first. ``next_cursor`` continues in the same
        order; a cursor this API did not give out answers 422.
        """
        page = services.list_inbox(
            services.ListInbox(args["site_id"], limit=args["limit"], cursor=args["cursor"]),
            components(),
            current_principal(),
        )
        return {"items": page.items, "next_cursor": page.next_cursor}
