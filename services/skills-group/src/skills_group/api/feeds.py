"""Calendar feeds: ``/v1/calendar-feeds`` to make, list and revoke them (a feed's maker and an
operator list and revoke it), ``/calendar/<secret>.ics`` to read one (no token: calendar apps
cannot send one; the secret is the credential)."""

from __future__ import annotations

from flask import Blueprint as FlaskBlueprint
from flask import Response, url_for
from flask.views import MethodView

from dbt_shared.auth import current_principal, require_roles
from dbt_shared.errors import NotFound
from dbt_shared.vocabulary import SITE_STAFF
from dbt_shared.web import Blueprint, components
from skills_group import services
from skills_group.schemas import Feed, FeedIn, FeedListArgs, FeedPage

blp = Blueprint(
    "calendar_feeds", __name__, url_prefix="/v1/calendar-feeds", description="Calendar feeds"
)


def _feed_url(secret: str) -> str:
    """The feed's address for a calendar app: on the public host when one is set (the console
    asks from inside the cluster, where this api's own host is not reachable from outside)."""
    base = components().public_base_url
    if base:
        return base + url_for("calendar.feed", secret=secret)
    return url_for("calendar.feed", secret=secret, _external=True)


@blp.route("")
class Feeds(MethodView):
    @require_roles(*SITE_STAFF)
    @blp.arguments(FeedIn, example={"group_id": "<group id>"})
    @blp.response(201, Feed)
    def post(self, body):
        """A secret, revocable feed URL of a group's sessions or a clinician's."""
        feed = services.create_feed(body, components(), current_principal())
        return {**feed, "url": _feed_url(feed.pop("secret"))}, 201

    @require_roles(*SITE_STAFF)
    @blp.arguments(FeedListArgs, location="query")
    @blp.response(200, FeedPage)
    def get(self, args):
        """The feeds in use you made; an operator naming ``site_id`` gets the site's."""
        items, cursor = services.list_feeds(args, components(), current_principal())
        return {"items": items, "next_cursor": cursor}


@blp.route("/<feed_id>")
class FeedById(MethodView):
    @require_roles(*SITE_STAFF)
    @blp.response(204)
    def delete(self, feed_id):
        """Revoke a feed (its maker, or an operator): its URL answers 404 from now on."""
        services.revoke_feed(feed_id, components(), current_principal())


calendar = FlaskBlueprint("calendar", __name__)


@calendar.get("/calendar/<secret>.ics")
def feed(secret: str) -> Response:
    try:
        body = services.feed_calendar(secret, components())
    except NotFound:
        return Response("No such calendar.\n", status=404, mimetype="text/plain")
    return Response(
        body, mimetype="text/calendar", headers={"Cache-Control": "private, max-age=300"}
    )
