"""The read model of sites that every consuming service keeps from intake's site events.

Sites are organisation data (no PHI); intake owns them. Consumers keep only id and time zone,
which is what their rules need (calendars, quiet hours); details are fetched from intake's API.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from dbt_shared.auth import scope_query
from dbt_shared.contracts import intake
from dbt_shared.events.consumer import Handler, HandlerContext
from dbt_shared.events.envelope import Event
from dbt_shared.pagination import PageArgs, page
from dbt_shared.web import context

COLLECTION = "sites"


def on_site_registered(event: Event, data: dict[str, Any], ctx: HandlerContext) -> None:
    # Keyed by site id: a repeat of the event rewrites the same values.
    ctx.db[COLLECTION].update_one(
        {"_id": data["site_id"]},
        {
            "$set": {"timezone": data["timezone"], "registered_at": data["registered_at"]},
            "$setOnInsert": {"learned_from": event.id},
        },
        upsert=True,
    )


HANDLERS: dict[str, Handler] = {intake.SITE_REGISTERED: on_site_registered}


class KnownSite(Schema):
    id = fields.String(
        attribute="_id", metadata={"example": "01a214d7-2efe-7325-a9cf-f6c3557e6e63"}
    )
    timezone = fields.String(metadata={"example": "America/Chicago"})
    registered_at = fields.DateTime()


class KnownSitePage(Schema):
    items = fields.List(fields.Nested(KnownSite))
    next_cursor = fields.String(allow_none=True)


def blueprint() -> Blueprint:
    """``GET /v1/sites``: the sites this service has learned of, limited to the caller's sites."""
    blp = Blueprint(
        "known_sites", __name__, url_prefix="/v1/sites", description="Sites this service knows"
    )

    @blp.route("")
    class KnownSites(MethodView):
        @blp.arguments(PageArgs, location="query")
        @blp.response(200, KnownSitePage)
        def get(self, args):
            """List the sites this service has learned of from intake's events."""
            items, cursor = page(
                context().db[COLLECTION],
                scope_query({}, site_field="_id"),
                limit=args["limit"],
                cursor=args["cursor"],
            )
            return {"items": items, "next_cursor": cursor}

    return blp
