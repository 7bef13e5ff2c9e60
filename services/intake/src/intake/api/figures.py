"""``/v1/waitlist-figures``: the organisation's waitlist at a glance, per site and program, in
one call (the operators' overview; coordinators get their sites). Counts and days only."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields

from dbt_shared import http_fields
from dbt_shared.auth import current_principal, require_roles
from dbt_shared.vocabulary import COORDINATING
from dbt_shared.web import Blueprint, components
from intake.schemas import StageCount
from intake.services import figures

blp = Blueprint("figures", __name__, url_prefix="/v1", description="Overview figures")


class ProgramWaitlistFigures(Schema):
    program = fields.String(metadata={"example": "standard"})
    waiting = fields.Integer(metadata={"description": "referrals in a waiting stage now"})
    stages = fields.List(fields.Nested(StageCount))
    oldest_waiting_days = fields.Integer(
        allow_none=True,
        metadata={
            "description": "whole days since the longest-waiting referral was received "
            "(null: nobody waiting)"
        },
    )


class SiteWaitlistFigures(Schema):
    site_id = fields.String()
    waiting = fields.Integer(metadata={"description": "every program's waiting referrals"})
    oldest_waiting_days = fields.Integer(allow_none=True)
    programs = fields.List(fields.Nested(ProgramWaitlistFigures))


WaitlistFigures = http_fields.per_site(SiteWaitlistFigures, "WaitlistFigures")


class WaitlistFiguresArgs(Schema):
    site_id = http_fields.Id(
        metadata={"description": "one site's figures only (a site page's stage counts)"}
    )


@blp.route("/waitlist-figures")
class WaitlistFiguresView(MethodView):
    @require_roles(*COORDINATING)
    @blp.arguments(WaitlistFiguresArgs, location="query")
    @blp.response(200, WaitlistFigures)
    def get(self, args):
        """Per site and program: how many wait, by stage, and the longest wait in days, from
        kept counts (how many wait per stage, and when those waiting were received; operators:
        every site; coordinators: the sites where they coordinate). The referrals behind it:
        ``GET /v1/waitlist``."""
        return figures.waitlist_figures(components(), current_principal(), args.get("site_id"))
