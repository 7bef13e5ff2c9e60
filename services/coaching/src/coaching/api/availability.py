"""Availability: a site's coaching hours, its rota and overrides, time off, coverage."""

from __future__ import annotations

from flask.views import MethodView

from coaching import services
from coaching.schemas import (
    Coverage,
    CoverageArgs,
    Hours,
    HoursIn,
    OverrideIn,
    Rota,
    RotaIn,
    TimeOff,
    TimeOffIn,
)
from coaching.schemas import Override as OverrideOut
from dbt_shared.auth import current_principal, require_roles
from dbt_shared.vocabulary import COORDINATING, SITE_STAFF
from dbt_shared.web import Blueprint, components

blp = Blueprint("availability", __name__, url_prefix="/v1", description="On-call availability")


@blp.route("/sites/<site_id>/coaching-hours")
class CoachingHours(MethodView):
    @require_roles(*SITE_STAFF)
    @blp.response(200, Hours)
    def get(self, site_id):
        """The published coaching hours (site local time), call-back deadline, emergency route
        and load threshold; the standard values until published."""
        return services.availability.hours_view(site_id, components(), current_principal())

    @require_roles(*COORDINATING)
    @blp.arguments(
        HoursIn,
        example={
            "hours": [{"weekday": "mon", "start": "17:00", "end": "24:00"}],
            "callback_minutes": 30,
            "emergency_number": "988",
        },
    )
    @blp.response(200, Hours)
    def put(self, body, site_id):
        """Publish the coaching hours; the next 7 days are checked for gaps at once."""
        return services.availability.put_hours(site_id, body, components(), current_principal())


@blp.route("/sites/<site_id>/rota")
class SiteRota(MethodView):
    @require_roles(*SITE_STAFF)
    @blp.response(200, Rota)
    def get(self, site_id):
        """The weekly primary and backup layers (site local time) and the overrides."""
        return services.availability.rota_view(site_id, components(), current_principal())

    @require_roles(*COORDINATING)
    @blp.arguments(RotaIn)
    @blp.response(200, Rota)
    def put(self, body, site_id):
        """Replace the weekly layers; the next 7 days are checked for gaps at once."""
        return services.availability.put_rota(site_id, body, components(), current_principal())


@blp.route("/sites/<site_id>/rota/overrides")
class RotaOverrides(MethodView):
    @require_roles(*COORDINATING)
    @blp.arguments(OverrideIn)
    @blp.response(201, OverrideOut)
    def post(self, body, site_id):
        """A one-off: this clinician takes the primary or backup role from ``from`` to ``to``."""
        return (
            services.availability.add_override(site_id, body, components(), current_principal()),
            201,
        )


@blp.route("/clinicians/<clinician_id>/time-off")
class ClinicianTimeOff(MethodView):
    @require_roles(*SITE_STAFF)
    @blp.arguments(TimeOffIn)
    @blp.response(201, TimeOff)
    def post(self, body, clinician_id):
        """Time off: the clinician is never on call meanwhile (the clinician, or a
        coordinator)."""
        return (
            services.availability.add_time_off(
                clinician_id, body, components(), current_principal()
            ),
            201,
        )


@blp.route("/sites/<site_id>/coverage")
class SiteCoverage(MethodView):
    @require_roles(*SITE_STAFF)
    @blp.arguments(CoverageArgs, location="query")
    @blp.response(200, Coverage)
    def get(self, args, site_id):
        """Who is primary and backup through the coaching hours of ``from``..``to`` (local
        dates, 7 days by default, UTC instants) and where nobody is."""
        return services.availability.coverage(site_id, args, components(), current_principal())
