"""Client and clinician contact at send time, the waitlist and the audit trail."""

from __future__ import annotations

from flask.views import MethodView

from dbt_shared.auth import caller, current_principal, require_roles
from dbt_shared.vocabulary import COORDINATING
from dbt_shared.web import Blueprint, components
from intake.schemas import (
    AuditArgs,
    AuditPage,
    ClientContact,
    ClinicianContact,
    Waitlist,
    WaitlistArgs,
)
from intake.services import oversight

blp = Blueprint("oversight", __name__, url_prefix="/v1", description="Contact, waitlist, audit")


@blp.route("/clients/<client_id>/contact")
class ContactChannels(MethodView):
    @require_roles(caller("notifications"))
    @blp.response(200, ClientContact)
    def get(self, client_id):
        """What notifications needs at send time: channels, preference, language, time zone.

        For notifications' service token only; the client id is the referral id."""
        return oversight.contact_for(client_id, components(), current_principal())


@blp.route("/clinicians/<clinician_id>/contact")
class ClinicianContactChannels(MethodView):
    @require_roles(caller("notifications"))
    @blp.response(200, ClinicianContact)
    def get(self, clinician_id):
        """A clinician's work email and phone and the site's time zone, at send time
        (notifications' service token only)."""
        return oversight.clinician_contact_for(clinician_id, components(), current_principal())


@blp.route("/waitlist")
class WaitlistView(MethodView):
    @require_roles(*COORDINATING)
    @blp.arguments(WaitlistArgs, location="query")
    @blp.response(200, Waitlist)
    def get(self, args):
        """Who is waiting at which stage and for how many days, oldest first."""
        return oversight.waitlist(args, components(), current_principal())


@blp.route("/audit")
class AuditTrail(MethodView):
    @require_roles("operator")
    @blp.arguments(AuditArgs, location="query")
    @blp.response(200, AuditPage)
    def get(self, args):
        """The audit trail of access to client data, oldest first, with filters."""
        items, cursor = oversight.audit_trail(args, components())
        return {"items": items, "next_cursor": cursor}
