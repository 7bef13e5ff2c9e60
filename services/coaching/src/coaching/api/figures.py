"""``/v1/coaching-figures`` (every site the caller may see, in one call) and
``/v1/sites/{site_id}/coaching-figures`` (one site): coaching's figures for the operators'
overview, from kept counts and the rota as it stands (no client data)."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields

from coaching.services import figures
from dbt_shared import http_fields
from dbt_shared.auth import current_principal, require_roles
from dbt_shared.vocabulary import COORDINATING
from dbt_shared.web import Blueprint, components

blp = Blueprint("figures", __name__, url_prefix="/v1", description="Overview figures")

DAYS = figures.DAYS  # the overview's window


class CoachingFigures(Schema):
    site_id = fields.String()
    missed_acknowledgements_7d = fields.Integer(
        metadata={
            "description": "requests whose acknowledgement deadline passed (first escalated) "
            "today and the 6 days before (UTC days)"
        }
    )
    rota_set = fields.Boolean(
        metadata={"description": "false: no rota yet, and the coverage figures are null"}
    )
    gaps_7d = fields.Integer(
        allow_none=True,
        metadata={
            "description": "stretches of coaching hours in the next 7 days without a primary "
            "or without a backup on call (GET /v1/sites/{site_id}/coverage lists them)"
        },
    )
    hours_without_primary_7d = fields.Float(
        allow_none=True,
        metadata={"description": "coaching hours in the next 7 days with no clinician on call"},
    )
    hours_without_backup_7d = fields.Float(
        allow_none=True,
        metadata={"description": "coaching hours in the next 7 days with no backup on call"},
    )
    first_gap_at = fields.DateTime(allow_none=True, metadata={"description": "UTC"})


OrganisationCoachingFigures = http_fields.per_site(CoachingFigures, "OrganisationCoachingFigures")


class MissedAcknowledgement(Schema):
    request_id = fields.String()
    kind = fields.String(allow_none=True, metadata={"example": "skills"})
    client_id = fields.String(allow_none=True)
    missed_at = fields.DateTime(metadata={"description": "when its deadline passed (UTC)"})


class MissedAcknowledgements(Schema):
    site_id = fields.String()
    days = fields.Integer(metadata={"description": "the window: today and the days before"})
    items = fields.List(
        fields.Nested(MissedAcknowledgement), metadata={"description": "newest first"}
    )


@blp.route("/coaching-figures")
class EveryCoachingFigures(MethodView):
    @require_roles(*COORDINATING)
    @blp.response(200, OrganisationCoachingFigures)
    def get(self):
        """Every site's coaching figures in one call (operators: all; coordinators: the sites
        where they coordinate): acknowledgements missed in the last 7 days, coverage gaps of
        the next 7 days."""
        return figures.every_site(components(), current_principal())


@blp.route("/sites/<site_id>/coaching-figures")
class SiteCoachingFigures(MethodView):
    @require_roles(*COORDINATING)
    @blp.response(200, CoachingFigures)
    def get(self, site_id):
        """The site's coaching figures (its coordinators, operators): acknowledgements missed in
        the last 7 days, coverage gaps of the next 7 days. The gaps themselves are
        ``GET /v1/sites/{site_id}/coverage``'s."""
        return figures.one_site(site_id, components(), current_principal())


@blp.route("/sites/<site_id>/missed-acknowledgements")
class SiteMissedAcknowledgements(MethodView):
    @require_roles(*COORDINATING)
    @blp.response(200, MissedAcknowledgements)
    def get(self, site_id):
        """The requests behind ``missed_acknowledgements_7d``: those whose acknowledgement
        deadline passed in the last 7 days, newest first (the site's coordinators, operators;
        audited)."""
        return figures.missed_acknowledgements(site_id, components(), current_principal())
