"""``/v1/sessions``: one occurrence of a group: reschedule, cancel, roster, attendance."""

from __future__ import annotations

from flask.views import MethodView

from dbt_shared.auth import current_principal, require_roles
from dbt_shared.vocabulary import RUNNING_GROUPS
from dbt_shared.web import Blueprint, components
from skills_group import services
from skills_group.schemas import (
    AttendanceIn,
    Cancellation,
    RosterPage,
    Session,
    SessionAttendance,
    SessionPatch,
)

blp = Blueprint("sessions", __name__, url_prefix="/v1/sessions", description="Sessions")


@blp.route("/<session_id>")
class SessionById(MethodView):
    @require_roles(*RUNNING_GROUPS)
    @blp.arguments(SessionPatch)
    @blp.response(200, Session)
    def patch(self, body, session_id):
        """Reschedule one occurrence (its sequence rises; 409 on a clash)."""
        return services.reschedule_session(session_id, body, components(), current_principal())


@blp.route("/<session_id>/cancellation")
class SessionCancellation(MethodView):
    @require_roles(*RUNNING_GROUPS)
    @blp.arguments(Cancellation)
    @blp.response(200, Session)
    def post(self, body, session_id):
        """Cancel one occurrence."""
        return services.cancel_session(session_id, body, components(), current_principal())


@blp.route("/<session_id>/roster")
class SessionRoster(MethodView):
    @require_roles(*RUNNING_GROUPS)
    @blp.response(200, RosterPage)
    def get(self, session_id):
        """Who is expected at the session, and what is recorded so far, all in one page
        (``next_cursor`` is null): those who hold a seat at one session, never more than the
        group's capacity (at most 20)."""
        items = services.roster(session_id, components(), current_principal())
        return {"items": items, "next_cursor": None}


@blp.route("/<session_id>/attendance")
class SessionAttendanceView(MethodView):
    @require_roles(*RUNNING_GROUPS)
    @blp.arguments(AttendanceIn)
    @blp.response(200, SessionAttendance)
    def put(self, body, session_id):
        """Record attendance at a session that has started (the group's facilitators,
        coordinators, operators); a replaced record recomputes the four-miss rule."""
        return services.record_attendance(session_id, body, components(), current_principal())
