"""``/v1/sites/{site_id}/coaching-figures``: a site's coaching figures for the operators'
overview, from kept counts (no client data)."""

from __future__ import annotations

from datetime import UTC

from flask.views import MethodView
from marshmallow import Schema, fields

from dbt_shared.auth import current_principal, require_roles
from dbt_shared.web import Blueprint, components

blp = Blueprint("figures", __name__, url_prefix="/v1/sites", description="Overview figures")

DAYS = 7  # the overview's window


class CoachingFigures(Schema):
    site_id = fields.String()
    missed_acknowledgements_7d = fields.Integer(
        metadata={
            "description": "requests whose acknowledgement deadline passed (first escalated) "
            "today and the 6 days before (UTC days)"
        }
    )


@blp.route("/<site_id>/coaching-figures")
class SiteCoachingFigures(MethodView):
    @require_roles("operator", "coordinator")
    @blp.response(200, CoachingFigures)
    def get(self, site_id):
        """The site's coaching figures (its coordinators, operators): acknowledgements missed in
        the last 7 days. Coverage gaps are ``GET /v1/sites/{site_id}/coverage``'s."""
        principal = current_principal()
        principal.require_site(site_id)
        c = components()
        today = c.clock.now().astimezone(UTC).date()
        missed = c.repositories.missed_acks_in_days(site_id, today, DAYS)
        return {"site_id": site_id, "missed_acknowledgements_7d": missed}
