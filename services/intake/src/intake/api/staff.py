"""``/v1/staff``: the staff directory, who works at which site in which roles (operators).

The identity provider says who signs in; this says where they work. Every service takes a
signed-in person's roles at each site from it (``dbt_shared.staff_directory``), so a change
here (a role given, a site removed, a deactivation) takes effect everywhere within seconds.
"""

from __future__ import annotations

import re

from flask.views import MethodView

from dbt_shared.auth import current_principal, require_roles
from dbt_shared.errors import NotFound
from dbt_shared.http_fields import ID_PATTERN
from dbt_shared.pagination import PageArgs
from dbt_shared.vocabulary import SITE_STAFF
from dbt_shared.web import Blueprint, components
from intake.schemas.staff import Me, StaffMember, StaffMemberIn, StaffMemberPage
from intake.services import staff

blp = Blueprint(
    "staff", __name__, url_prefix="/v1/staff", description="Who works where: the staff directory"
)
_SUBJECT = re.compile(ID_PATTERN)


def _subject(staff_id: str) -> str:
    if not _SUBJECT.match(staff_id):  # no id this platform keeps: nothing there
        raise NotFound("staff member")
    return staff_id


@blp.route("")
class Staff(MethodView):
    @require_roles("operator")
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, StaffMemberPage)
    def get(self, args):
        """The organisation's staff members and their roles at each site (operators)."""
        items, cursor = staff.list_staff(args, components())
        return {"items": items, "next_cursor": cursor}


@blp.route("/me/roles")
class StaffMe(MethodView):
    @require_roles(*SITE_STAFF)
    @blp.response(200, Me)
    def get(self):
        """The caller's own roles, organisation-wide and at each site, as the services apply
        them (the console shows what each person may do from it)."""
        return staff.me(current_principal())


@blp.route("/<staff_id>")
class StaffMemberById(MethodView):
    @require_roles("operator")
    @blp.response(200, StaffMember)
    def get(self, staff_id):
        """A staff member (``staff_id``: the identity provider's subject)."""
        return staff.member(_subject(staff_id), components())

    @require_roles("operator")
    @blp.arguments(
        StaffMemberIn,
        example={
            "display_name": "Carla Jones",
            "memberships": [
                {"site_id": "<site id>", "roles": ["coordinator"]},
                {"site_id": "<other site id>", "roles": ["therapist"]},
            ],
        },
    )
    @blp.response(200, StaffMember)
    @blp.alt_response(201, schema=StaffMember, description="Created")
    def put(self, body, staff_id):
        """Create or replace a staff member: name, memberships (each site and the roles held
        there) and whether active. Every service applies the change within seconds
        (``intake.staff.changed.v1``). Operators; each change is on the audit trail."""
        member, created = staff.put_member(
            _subject(staff_id), body, components(), current_principal()
        )
        return member, 201 if created else 200


@blp.route("/<staff_id>/deactivation")
class StaffDeactivation(MethodView):
    @require_roles("operator")
    @blp.response(200, StaffMember)
    def post(self, staff_id):
        """The member no longer works here: refused by every service within seconds, whatever
        their token says (operators; on the audit trail). Deactivating twice is once."""
        return staff.deactivate(_subject(staff_id), components(), current_principal())
