"""``/v1/group-figures``: every site's groups at a glance in one call (seats filled and free,
members at risk, per program); ``/v1/sites/{site_id}/members-at-risk``: the list behind the
at-risk figure."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields

from dbt_shared import http_fields
from dbt_shared.auth import current_principal, require_roles
from dbt_shared.vocabulary import COORDINATING
from dbt_shared.web import Blueprint, components
from skills_group.services import figures

blp = Blueprint("figures", __name__, url_prefix="/v1", description="Overview figures")


class ProgramGroupFigures(Schema):
    program_id = fields.String()
    program = fields.String(allow_none=True, metadata={"example": "adult"})
    groups = fields.Integer()
    seats = fields.Integer(metadata={"description": "the groups' capacity"})
    filled = fields.Integer(metadata={"description": "seats held by a member now"})
    free = fields.Integer(metadata={"description": "seats nobody holds now"})
    at_risk = fields.Integer(metadata={"description": "members one miss from the limit"})


class SiteGroupFigures(Schema):
    site_id = fields.String()
    seats = fields.Integer()
    filled = fields.Integer()
    free = fields.Integer()
    at_risk = fields.Integer()
    programs = fields.List(fields.Nested(ProgramGroupFigures))


GroupFigures = http_fields.per_site(SiteGroupFigures, "GroupFigures")


class MemberAtRisk(Schema):
    enrollment_id = fields.String()
    client_id = fields.String()
    group_id = fields.String()
    group_name = fields.String(allow_none=True)
    program_id = fields.String()
    therapist_id = fields.String(allow_none=True)


class MembersAtRisk(Schema):
    site_id = fields.String()
    items = fields.List(fields.Nested(MemberAtRisk))


@blp.route("/group-figures")
class EveryGroupFigures(MethodView):
    @require_roles(*COORDINATING)
    @blp.response(200, GroupFigures)
    def get(self):
        """Per site and program: groups, seats filled and free now, members at risk (operators:
        every site; coordinators: the sites where they coordinate). Counts only."""
        return figures.group_figures(components(), current_principal())


@blp.route("/sites/<site_id>/members-at-risk")
class SiteMembersAtRisk(MethodView):
    @require_roles(*COORDINATING)
    @blp.response(200, MembersAtRisk)
    def get(self, site_id):
        """The site's members one miss from their program's limit, with their group (its
        coordinators, operators; audited, naming each client)."""
        return figures.members_at_risk(site_id, components(), current_principal())
