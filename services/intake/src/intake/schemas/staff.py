"""The staff directory's HTTP schemas (``/v1/staff``): who works at which site, in which roles."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from dbt_shared import http_fields
from dbt_shared.pagination import page_of
from dbt_shared.vocabulary import STAFF_SITE_ROLES
from intake.domain.staff import MAX_MEMBERSHIPS


class MembershipIn(Schema):
    site_id = http_fields.Id(required=True)
    roles = http_fields.List(
        fields.String(validate=validate.OneOf(STAFF_SITE_ROLES)),
        required=True,
        min_items=1,
        max_items=len(STAFF_SITE_ROLES),
        metadata={"description": "the roles held at this site (roles are per site)"},
    )


class StaffMemberIn(Schema):
    display_name = http_fields.Text(required=True, validate=validate.Length(1, 120))
    memberships = http_fields.List(
        fields.Nested(MembershipIn),
        load_default=list,
        max_items=MAX_MEMBERSHIPS,
        metadata={"description": "one per site; none: a member who works at no site (yet)"},
    )
    active = http_fields.StrictBoolean(
        load_default=True, metadata={"description": "false: refused everywhere"}
    )


class Membership(Schema):
    site_id = fields.String()
    roles = fields.List(fields.String())


class StaffMember(Schema):
    id = fields.String(
        attribute="_id",
        metadata={"description": "the identity provider's subject (sub)"},
    )
    display_name = fields.String()
    memberships = fields.List(fields.Nested(Membership))
    active = fields.Boolean()
    version = fields.Integer(metadata={"description": "grows with each change"})
    created_at = fields.DateTime()
    changed_at = fields.DateTime()
    deactivated_at = fields.DateTime()


StaffMemberPage = page_of(StaffMember)


class Me(Schema):
    id = fields.String(metadata={"description": "the identity provider's subject (sub)"})
    organisation_roles = fields.List(
        fields.String(), metadata={"description": "roles not held at a site: operator"}
    )
    memberships = fields.List(
        fields.Nested(Membership),
        metadata={"description": "each site the caller works at and the roles held there"},
    )
