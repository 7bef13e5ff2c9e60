"""``/v1/sites``: sites, their programs and their clinicians."""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView

from dbt_shared.auth import caller, current_principal, require_roles
from dbt_shared.idempotency import resource_id
from dbt_shared.vocabulary import SITE_STAFF
from dbt_shared.web import Blueprint, components
from intake.api.common import IDEMPOTENCY_DOC, idempotent
from intake.schemas import (
    Clinician,
    ClinicianIn,
    ClinicianPage,
    PageArgs,
    Program,
    ProgramIn,
    ProgramPage,
    ProgramPatch,
    Site,
    SiteIn,
    SitePage,
    SitePatch,
)
from intake.services import organisation

blp = Blueprint(
    "sites", __name__, url_prefix="/v1/sites", description="Sites, programs, clinicians"
)


@blp.route("")
class Sites(MethodView):
    @require_roles("operator")
    @blp.arguments(
        SiteIn,
        example={
            "name": "Riverside Clinic",
            "timezone": "America/Chicago",
            "intake_email": "intake@riverside.example.org",
            "clinical_lead": {"name": "Dr. Lee", "email": "lead@riverside.example.org"},
        },
    )
    @blp.doc(**IDEMPOTENCY_DOC)
    @idempotent()
    @blp.response(201, Site)
    def post(self, body):
        """Register a site (operators)."""
        site = organisation.register_site(body, components(), resource_id())
        return site, 201, {"Location": url_for("sites.SiteById", site_id=site["_id"])}

    @require_roles(*SITE_STAFF)
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, SitePage)
    def get(self, args):
        """List the sites the caller may act on."""
        items, cursor = organisation.list_sites(args, components(), current_principal())
        return {"items": items, "next_cursor": cursor}


@blp.route("/<site_id>")
class SiteById(MethodView):
    @require_roles(*SITE_STAFF, caller("notifications"))  # addresses at send time
    @blp.response(200, Site)
    def get(self, site_id):
        """A site, for operators, the site's own staff and notifications."""
        return organisation.site(site_id, components(), current_principal())

    @require_roles("operator")
    @blp.arguments(SitePatch, example={"timezone": "America/Denver", "name": "Riverside East"})
    @blp.response(200, Site)
    def patch(self, body, site_id):
        """Change some of a site's details (operators): name, time zone, intake email, clinical
        lead, phone region; the others keep their values. The other services learn a new time
        zone from ``intake.site.updated.v1``."""
        return organisation.change_site(site_id, body, components(), current_principal())


@blp.route("/<site_id>/programs")
class SitePrograms(MethodView):
    @require_roles("operator")
    @blp.arguments(ProgramIn, example={"kind": "adult", "settings": {"group_capacity": 9}})
    @blp.response(201, Program)
    def post(self, body, site_id):
        """Create the site's adult or adolescent program; unset settings take DBT defaults."""
        return organisation.create_program(site_id, body, components(), current_principal()), 201

    @require_roles(*SITE_STAFF)
    @blp.response(200, ProgramPage)
    def get(self, site_id):
        """The site's programs with their settings (its staff, operators)."""
        items = organisation.list_programs(site_id, components(), current_principal())
        return {"items": items, "next_cursor": None}


@blp.route("/<site_id>/programs/<program_id>")
class SiteProgram(MethodView):
    @require_roles("operator")
    @blp.arguments(ProgramPatch, example={"settings": {"twenty_four_hour_rule": False}})
    @blp.response(200, Program)
    def patch(self, body, site_id, program_id):
        """Change some settings of a program; the others keep their values."""
        return organisation.change_program(
            site_id, program_id, body, components(), current_principal()
        )


@blp.route("/<site_id>/clinicians")
class SiteClinicians(MethodView):
    @require_roles("operator")
    @blp.arguments(
        ClinicianIn,
        example={
            "subject": "auth0|5f1c",
            "display_name": "Dr. Ana Ortiz",
            "roles": ["therapist", "facilitator"],
            "programs": ["adult"],
            "languages": ["en", "es"],
            "caseload_limit": 12,
        },
    )
    @blp.response(201, Clinician)
    def post(self, body, site_id):
        """Register a clinician at the site."""
        return organisation.register_clinician(
            site_id, body, components(), current_principal(), resource_id()
        ), 201

    @require_roles(*SITE_STAFF)
    @blp.response(200, ClinicianPage)
    def get(self, site_id):
        """The site's clinicians with their current caseload."""
        items = organisation.list_clinicians(site_id, components(), current_principal())
        return {"items": items, "next_cursor": None}


@blp.route("/<site_id>/clinicians/<clinician_id>/deactivation")
class ClinicianDeactivation(MethodView):
    @require_roles("operator")
    @blp.response(200, Clinician)
    def post(self, site_id, clinician_id):
        """Deactivate a clinician who left the site: no longer matched to new clients, and
        their calendar feeds stop answering. Repeating it changes nothing."""
        return organisation.deactivate_clinician(
            site_id, clinician_id, components(), current_principal()
        )
