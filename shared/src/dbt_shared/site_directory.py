"""The read model of sites and their programs that every consuming service keeps.

Built from intake's ``site.registered``, ``site.updated`` and ``program.configured`` events.
Sites and programs are organisation data (no PHI); intake owns them. Consumers keep the time
zone (calendars, quiet hours) and the program settings (miss limit, capacity, curriculum,
coaching rules); contact details are fetched from intake's API when needed.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import Schema, fields

from dbt_shared.auth import require_roles, require_site, scope_query
from dbt_shared.contracts import intake
from dbt_shared.events.consumer import Handler, HandlerContext
from dbt_shared.events.envelope import Event
from dbt_shared.pagination import Page, PageArgs, page
from dbt_shared.vocabulary import SITE_STAFF
from dbt_shared.web import Blueprint, context

COLLECTION = "sites"
PROGRAMS_COLLECTION = "programs"


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


def on_site_updated(event: Event, data: dict[str, Any], ctx: HandlerContext) -> None:
    # A site's events share its key, so they arrive in order: the last time zone wins (a site
    # learned first from its update, e.g. after a topic was compacted, is kept all the same).
    ctx.db[COLLECTION].update_one(
        {"_id": data["site_id"]},
        {
            "$set": {"timezone": data["timezone"], "updated_at": data["updated_at"]},
            "$setOnInsert": {"learned_from": event.id},
        },
        upsert=True,
    )


def on_program_configured(event: Event, data: dict[str, Any], ctx: HandlerContext) -> None:
    # One program's events share its key, so they arrive in order: the last one wins.
    ctx.db[PROGRAMS_COLLECTION].update_one(
        {"_id": data["program_id"]},
        {
            "$set": {
                "site_id": data["site_id"],
                "kind": data["kind"],
                "settings": data["settings"],
                "configured_at": data["configured_at"],
            }
        },
        upsert=True,
    )


HANDLERS: dict[str, Handler] = {
    intake.SITE_REGISTERED: on_site_registered,
    intake.SITE_UPDATED: on_site_updated,
    intake.PROGRAM_CONFIGURED: on_program_configured,
}


class KnownSite(Schema):
    id = fields.String(
        attribute="_id", metadata={"example": "01a214d7-2efe-7325-a9cf-f6c3557e6e63"}
    )
    timezone = fields.String(metadata={"example": "America/Chicago"})
    registered_at = fields.DateTime()


class KnownProgram(Schema):
    id = fields.String(attribute="_id")
    site_id = fields.String()
    kind = fields.String(metadata={"example": "adult"})
    settings = fields.Dict(metadata={"example": {"consecutive_miss_limit": 4}})
    configured_at = fields.DateTime()


class KnownProgramPage(Page):
    items = fields.List(fields.Nested(KnownProgram))


class KnownSitePage(Page):
    items = fields.List(fields.Nested(KnownSite))


def blueprint() -> Blueprint:
    """``GET /v1/sites``: the sites this service has learned of, limited to the caller's sites."""
    blp = Blueprint(
        "known_sites", __name__, url_prefix="/v1/sites", description="Sites this service knows"
    )

    @blp.route("")
    class KnownSites(MethodView):
        @require_roles(*SITE_STAFF)  # no service reads another's read model of sites
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

    @blp.route("/<site_id>/programs")
    class KnownPrograms(MethodView):
        @require_roles(*SITE_STAFF)  # no service reads another's read model of sites
        @blp.response(200, KnownProgramPage)
        def get(self, site_id):
            """The site's programs and their settings, as this service last learned them."""
            require_site(site_id, "site")
            items = list(context().db[PROGRAMS_COLLECTION].find({"site_id": site_id}))
            return {"items": items, "next_cursor": None}

    return blp
