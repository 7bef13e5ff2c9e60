"""``/v1/notification-figures``: every site's notification figures for the operators' overview
in one call; ``/v1/sites/{site_id}/failed-deliveries``: the list behind one of them."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields

from dbt_shared import http_fields
from dbt_shared.auth import current_principal, require_roles
from dbt_shared.vocabulary import COORDINATING
from dbt_shared.web import Blueprint, components
from notifications.schemas import NotificationFigures
from notifications.services import figures

blp = Blueprint("figures", __name__, url_prefix="/v1", description="Overview figures")


OrganisationNotificationFigures = http_fields.per_site(
    NotificationFigures, "OrganisationNotificationFigures"
)


class FailedDelivery(Schema):
    id = fields.String(metadata={"description": "the delivery (GET /v1/deliveries lists it)"})
    purpose = fields.String()
    channel = fields.String(allow_none=True)
    recipient_kind = fields.String(allow_none=True)
    recipient_id = fields.String(allow_none=True)
    attempts = fields.Integer()
    failed_at = fields.DateTime()


class FailedDeliveries(Schema):
    site_id = fields.String()
    days = fields.Integer(metadata={"description": "the window: today and the days before"})
    items = fields.List(fields.Nested(FailedDelivery), metadata={"description": "newest first"})


@blp.route("/notification-figures")
class EveryNotificationFigures(MethodView):
    @require_roles(*COORDINATING)
    @blp.response(200, OrganisationNotificationFigures)
    def get(self):
        """Every site's figures in one call (operators: all; coordinators: the sites where they
        coordinate): unread inbox items, deliveries failed for good in the last 7 days (kept
        counts, no client data)."""
        return figures.every_site(components(), current_principal())


@blp.route("/sites/<site_id>/failed-deliveries")
class SiteFailedDeliveries(MethodView):
    @require_roles(*COORDINATING)
    @blp.response(200, FailedDeliveries)
    def get(self, site_id):
        """The site's deliveries that failed for good in the last 7 days, newest first (its
        coordinators, operators; audited): what, by which channel, to whom (an id), when."""
        return figures.failed_deliveries(site_id, components(), current_principal())
