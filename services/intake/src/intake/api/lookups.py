"""Look-ups for staff pages, each a POST whose body holds what must stay out of URLs:
``/v1/duplicate-checks`` (the same person's open referrals at a site) and
``/v1/clients/display-names`` (several clients' names for one list page, in one call) and
``/v1/clinicians/display-names`` (several clinicians' names, across the caller's sites)."""

from __future__ import annotations

from flask.views import MethodView

from dbt_shared.auth import current_principal, require_roles
from dbt_shared.vocabulary import COORDINATING
from dbt_shared.web import Blueprint, components
from intake.schemas.lookups import (
    ClinicianNames,
    ClinicianNamesIn,
    DisplayNames,
    DisplayNamesIn,
    DuplicateCheck,
    DuplicateCheckIn,
)
from intake.services import duplicates, lookups

blp = Blueprint("lookups", __name__, url_prefix="/v1", description="Look-ups for staff pages")


@blp.route("/duplicate-checks")
class DuplicateCheckView(MethodView):
    @require_roles(*COORDINATING)
    @blp.arguments(
        DuplicateCheckIn,
        example={
            "site_id": "01a214d7-2efe-7325-a9cf-f6c3557e6e63",
            "given_name": "Alex",
            "family_name": "Rivera",
            "date_of_birth": "1994-03-17",
        },
    )
    @blp.response(200, DuplicateCheck)
    def post(self, body):
        """The site's open referrals of a person with these names and date of birth (its
        coordinators, operators): to warn before recording the same person twice. Audited."""
        return duplicates.check(body, components(), current_principal())


@blp.route("/clients/display-names")
class DisplayNamesView(MethodView):
    @require_roles("coordinator", "operator", "therapist", "facilitator")
    @blp.arguments(DisplayNamesIn, example={"client_ids": ["01a214d7-2efe-7325-a9cf-f6c3557e6e63"]})
    @blp.response(200, DisplayNames)
    def post(self, body):
        """The display names of up to 100 clients in one call, for a list page: those the caller
        may see (their sites; a therapist their own clients); the others are left out. One
        audit record per call names every client shown."""
        return {
            "items": lookups.display_names(body["client_ids"], components(), current_principal())
        }


@blp.route("/clinicians/display-names")
class ClinicianNamesView(MethodView):
    @require_roles("coordinator", "operator", "therapist", "facilitator")
    @blp.arguments(
        ClinicianNamesIn, example={"clinician_ids": ["01a214d7-2efe-7325-a9cf-f6c3557e6e63"]}
    )
    @blp.response(200, ClinicianNames)
    def post(self, body):
        """The names (and sign-in subjects) of up to 500 clinicians in one call, whatever their
        sites, for a page listing several sites' groups: those of the caller's sites (an
        operator: every site); the others are left out as if unknown."""
        return {
            "items": lookups.clinician_names(
                body["clinician_ids"], components(), current_principal()
            )
        }
