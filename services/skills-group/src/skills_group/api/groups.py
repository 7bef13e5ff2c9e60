"""``/v1/groups``: groups, their calendars and their members."""

from __future__ import annotations

from flask.views import MethodView

from dbt_shared.auth import caller, current_principal, require_roles
from dbt_shared.vocabulary import RUNNING_GROUPS
from dbt_shared.web import Blueprint, components
from skills_group import services
from skills_group.schemas import (
    Enrollment,
    EnrollmentIn,
    EnrollmentPage,
    Group,
    GroupArgs,
    GroupIn,
    GroupPage,
    GroupPatch,
    SessionArgs,
    SessionPage,
)

blp = Blueprint("groups", __name__, url_prefix="/v1/groups", description="Groups and calendars")


@blp.route("")
class Groups(MethodView):
    @require_roles(*RUNNING_GROUPS)
    @blp.arguments(
        GroupIn,
        example={
            "site_id": "<site id>",
            "program_id": "<site id>:adult",
            "name": "Tuesday evening",
            "weekday": "tue",
            "start_time": "18:00",
            "duration_minutes": 150,
            "room": "Room 2",
            "facilitator_ids": ["<clinician id>", "<clinician id>"],
            "starts_on": "2027-01-05",
            "cycles": 2,
        },
    )
    @blp.response(201, Group)
    def post(self, body):
        """Schedule a group: its calendar follows the program's curriculum (409 on a clash of
        room or facilitator, naming the session)."""
        return services.create_group(body, components(), current_principal()), 201

    @require_roles(*RUNNING_GROUPS)
    @blp.arguments(GroupArgs, location="query")
    @blp.response(200, GroupPage)
    def get(self, args):
        """The groups of a site (and program); without a site, those of every site of the
        caller's, site by site. A page of ``limit``; ``next_cursor`` continues it."""
        items, cursor = services.list_groups(args, components(), current_principal())
        return {"items": items, "next_cursor": cursor}


@blp.route("/<group_id>")
class GroupById(MethodView):
    @require_roles(*RUNNING_GROUPS)
    @blp.response(200, Group)
    def get(self, group_id):
        """A group, with its first sessions."""
        return services.get_group(group_id, components(), current_principal())

    @require_roles(*RUNNING_GROUPS)
    @blp.arguments(GroupPatch)
    @blp.response(200, Group)
    def patch(self, body, group_id):
        """Change the room, the facilitators or the capacity; sessions to come follow."""
        return services.change_group(group_id, body, components(), current_principal())


@blp.route("/<group_id>/sessions")
class GroupSessions(MethodView):
    @require_roles(
        *RUNNING_GROUPS, caller("notifications")
    )  # notifications plans reminders from it
    @blp.arguments(SessionArgs, location="query")
    @blp.response(200, SessionPage)
    def get(self, args, group_id):
        """The group's sessions, between ``from`` and ``to`` (local dates) if given, all in one
        page (``next_cursor`` is null): a group's calendar is fixed by its curriculum and its
        cycles (at most 4), so it does not grow with time."""
        query = {"from": args.get("from_"), "to": args.get("to")}
        items = services.list_sessions(group_id, query, components(), current_principal())
        return {"items": items, "next_cursor": None}


@blp.route("/<group_id>/enrollments")
class GroupEnrollments(MethodView):
    @require_roles(*RUNNING_GROUPS)
    @blp.arguments(EnrollmentIn)
    @blp.response(201, Enrollment)
    def post(self, body, group_id):
        """Place an admitted client by hand at the next entry point, or at ``from_session_id``
        (an entry point, earlier ones included); 409 when the group is full there. The
        site's coordinators, or the group's own facilitators (a waiting client to a free
        seat)."""
        return services.enroll_by_hand(group_id, body, components(), current_principal()), 201

    @require_roles(*RUNNING_GROUPS)
    @blp.response(200, EnrollmentPage)
    def get(self, group_id):
        """The group's enrollments, every status, all in one page (``next_cursor`` is null):
        members join only at the group's entry points, so there are at most its seats times its
        entry points, fixed by its calendar; they do not grow with time."""
        items = services.list_enrollments(group_id, components(), current_principal())
        return {"items": items, "next_cursor": None}
