"""Notifications' HTTP API: the site inbox."""

from __future__ import annotations

from datetime import UTC, datetime

from flask.views import MethodView
from flask_smorest import Blueprint

from dbt_shared.auth import require_roles, require_site
from dbt_shared.pagination import decode_position, encode_position, invalid_cursor
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
        """The site's inbox (coordinators of the site): urgent items first, then the rest.

        Within each priority the oldest item comes first. ``next_cursor`` continues in the same
        order; a cursor this API did not give out answers 422.
        """
        require_site(args["site_id"], "site")
        after = decode_inbox_cursor(args["cursor"]) if args["cursor"] else None
        items, last = store.inbox_page(
            context().db, args["site_id"], limit=args["limit"], after=after
        )
        return {"items": items, "next_cursor": encode_inbox_cursor(last) if last else None}


# The inbox cursor: opaque base64 of the last item's place in ``store.INBOX_ORDER``.
def encode_inbox_cursor(position: store.InboxPosition) -> str:
    created_at = position.created_at
    if created_at.tzinfo is None:  # BSON dates are UTC
        created_at = created_at.replace(tzinfo=UTC)
    return encode_position(
        {"rank": position.priority_rank, "at": created_at.isoformat(), "after": position.id}
    )


def decode_inbox_cursor(cursor: str) -> store.InboxPosition:
    raw = decode_position(cursor)
    try:
        rank, at, after = raw["rank"], datetime.fromisoformat(raw["at"]), raw["after"]
    except (ValueError, KeyError, TypeError) as exc:
        raise invalid_cursor() from exc
    if type(rank) is not int or not isinstance(after, str) or at.tzinfo is None:
        raise invalid_cursor()
    return store.InboxPosition(rank, at, after)
