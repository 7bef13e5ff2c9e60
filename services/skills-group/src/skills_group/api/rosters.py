"""A facilitator's group operations: a calendar previewed before saving, who waits for a
group, a member removed or moved by hand, a site's closures listed (with what each did to a
group) and undone."""

from __future__ import annotations

from datetime import date

from flask.views import MethodView

from dbt_shared import pagination
from dbt_shared.auth import current_principal, require_roles
from dbt_shared.errors import NotFound
from dbt_shared.vocabulary import COORDINATING, RUNNING_GROUPS
from dbt_shared.web import Blueprint, components
from skills_group.schemas import (
    ClosureArgs,
    ClosureRemoved,
    Enrollment,
    GroupIn,
    GroupPreview,
    GroupWaitingPage,
    RemovalIn,
    SiteClosurePage,
    TransferIn,
)
from skills_group.services import rosters

blp = Blueprint("rosters", __name__, url_prefix="/v1", description="Rosters and closures")


@blp.route("/group-previews")
class GroupPreviews(MethodView):
    @require_roles(*RUNNING_GROUPS)
    @blp.arguments(GroupIn)
    @blp.response(200, GroupPreview)
    def post(self, body):
        """The calendar ``POST /v1/groups`` would make from the same body, every session, with
        each clash of room or facilitator and each closure met; nothing is saved."""
        return rosters.preview_group(body, components(), current_principal())


@blp.route("/groups/<group_id>/waitlist")
class GroupWaitlist(MethodView):
    @require_roles(*RUNNING_GROUPS)
    @blp.arguments(pagination.PageArgs, location="query")
    @blp.response(200, GroupWaitingPage)
    def get(self, args, group_id):
        """Who waits for the group's program at its site, longest first, and whether each
        one's availability fits the group (its facilitators, the site's coordinators); a page
        of ``limit``, ``next_cursor`` continues it."""
        items, cursor = rosters.group_waitlist(group_id, args, components(), current_principal())
        return {"items": items, "next_cursor": cursor}


@blp.route("/enrollments/<enrollment_id>/removal")
class Removal(MethodView):
    @require_roles(*RUNNING_GROUPS)
    @blp.arguments(RemovalIn, example={"reason": "Moved away"})
    @blp.response(200, Enrollment)
    def post(self, body, enrollment_id):
        """Take a member out of the group (the group's facilitators, the site's coordinators):
        the seat is free from the next session; the reason is kept sealed."""
        return rosters.remove_member(enrollment_id, body, components(), current_principal())


@blp.route("/enrollments/<enrollment_id>/transfer")
class Transfer(MethodView):
    @require_roles(*RUNNING_GROUPS)
    @blp.arguments(TransferIn, example={"group_id": "<group id>", "reason": "Evenings suit"})
    @blp.response(201, Enrollment)
    def post(self, body, enrollment_id):
        """Move a member to another group of the program at its next entry point with a seat
        (409 when none, nothing changed); answers the new membership."""
        return (
            rosters.transfer_member(enrollment_id, body, components(), current_principal()),
            201,
        )


@blp.route("/sites/<site_id>/closures")
class SiteClosureList(MethodView):
    @require_roles(*RUNNING_GROUPS)
    @blp.arguments(ClosureArgs, location="query")
    @blp.response(200, SiteClosurePage)
    def get(self, args, site_id):
        """The site's closure days, and with ``group_id`` what each did to that group's
        calendar (shifted or skipped, and the session it met), all in one page
        (``next_cursor`` is null): a site closes some days a year, and every calendar plan
        reads them all anyway."""
        items = rosters.site_closures(site_id, args, components(), current_principal())
        return {"items": items, "next_cursor": None}


@blp.route("/sites/<site_id>/closures/<day>")
class SiteClosureByDay(MethodView):
    @require_roles(*COORDINATING)
    @blp.response(200, ClosureRemoved)
    def delete(self, site_id, day):
        """Undo a closure: the sessions it moved or skipped go back to the plan (each one
        moved announced, so reminders follow)."""
        try:
            closed_on = date.fromisoformat(day)
        except ValueError:
            raise NotFound("closure") from None
        return rosters.remove_closure(site_id, closed_on, components(), current_principal())
