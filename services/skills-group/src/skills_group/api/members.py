"""Clients and their memberships: attendance, the waitlist, reinstatement, site closures."""

from __future__ import annotations

from flask.views import MethodView

from dbt_shared import pagination
from dbt_shared.auth import current_principal, require_roles
from dbt_shared.vocabulary import COORDINATING, SITE_STAFF
from dbt_shared.web import Blueprint, components
from skills_group import services
from skills_group.schemas import (
    ClientAttendance,
    Closure,
    ClosureIn,
    Enrollment,
    OverviewPage,
    WaitlistArgs,
    WaitlistPage,
)

blp = Blueprint("members", __name__, url_prefix="/v1", description="Members and closures")


@blp.route("/clients/<client_id>/attendance")
class ClientAttendanceView(MethodView):
    @require_roles(*SITE_STAFF, "client")
    @blp.response(200, ClientAttendance)
    def get(self, client_id):
        """Every recorded session with status and reason, the current run of misses, the
        attendance rate (site staff; the client themselves)."""
        return services.client_attendance(client_id, components(), current_principal())


@blp.route("/waitlist")
class Waitlist(MethodView):
    @require_roles(*COORDINATING)
    @blp.arguments(WaitlistArgs, location="query")
    @blp.response(200, WaitlistPage)
    def get(self, args):
        """Who waits for a seat, since when, and why no group fits, longest-waiting first; a
        page of ``limit``, ``next_cursor`` continues it."""
        items, cursor = services.waitlist(args, components(), current_principal())
        return {"items": items, "next_cursor": cursor}


@blp.route("/enrollments/<enrollment_id>/reinstatement")
class Reinstatement(MethodView):
    @require_roles(*COORDINATING)
    @blp.response(200, Enrollment)
    def post(self, enrollment_id):
        """Reinstate a member the miss limit discharged (their misses count afresh)."""
        return services.reinstate(enrollment_id, components(), current_principal())


@blp.route("/sites/<site_id>/closures")
class SiteClosures(MethodView):
    @require_roles(*COORDINATING)
    @blp.arguments(ClosureIn, example={"date": "2027-12-24", "reason": "Holiday"})
    @blp.response(201, Closure)
    def post(self, body, site_id):
        """A day the site is closed: sessions that day are skipped, or shift a week with every
        later one (the program's ``closure_policy``)."""
        return services.add_closure(site_id, body, components(), current_principal()), 201


@blp.route("/overview")
class Overview(MethodView):
    @require_roles(*COORDINATING)
    @blp.arguments(pagination.PageArgs, location="query")
    @blp.response(200, OverviewPage)
    def get(self, args):
        """Per site and program: groups, seats, fill at the next entry point, the waitlist and
        its longest wait, members at risk, attendance over 4 weeks (operators: every site;
        coordinators: theirs). Rows in site and program order, a page of ``limit``;
        ``next_cursor`` continues it."""
        items, cursor = services.overview(args, components(), current_principal())
        return {"items": items, "next_cursor": cursor}
