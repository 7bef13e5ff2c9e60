"""``/v1/referrals``: recording, listing, reading and correcting referrals."""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView

from dbt_shared.auth import current_principal, require_roles
from dbt_shared.idempotency import resource_id
from dbt_shared.vocabulary import COORDINATING
from dbt_shared.web import Blueprint, components
from intake.api.common import IDEMPOTENCY_DOC, idempotent
from intake.schemas import Referral, ReferralIn, ReferralListArgs, ReferralPage, ReferralPatch
from intake.services import referrals

blp = Blueprint(
    "referrals", __name__, url_prefix="/v1/referrals", description="Referral to admission"
)


def _replayed(referral_id: str) -> None:
    """A replayed answer shows the referral's client details again: audited before it goes."""
    referrals.replayed(referral_id, components(), current_principal())


@blp.route("")
class Referrals(MethodView):
    @require_roles(*COORDINATING)
    @blp.arguments(
        ReferralIn,
        example={
            "site_id": "01a214d7-2efe-7325-a9cf-f6c3557e6e63",
            "program": "adult",
            "source": "GP",
            "consent_to_contact": True,
            "client": {
                "given_name": "Alex",
                "family_name": "Rivera",
                "date_of_birth": "1994-03-17",
                "email": "alex@example.org",
                "phone": "+1 312 555 0100",
                "preferred_channel": "sms",
                "language": "es",
            },
        },
    )
    @blp.doc(**IDEMPOTENCY_DOC)
    @idempotent(on_replay=_replayed)
    @blp.response(201, Referral)
    def post(self, body):
        """Record a referral for a site (coordinators of that site)."""
        shown, _ = referrals.receive(body, components(), current_principal(), resource_id())
        location = url_for("referrals.ReferralById", referral_id=shown["_id"])
        return shown, 201, {"Location": location}

    @require_roles(*COORDINATING, "therapist")
    @blp.arguments(ReferralListArgs, location="query")
    @blp.response(200, ReferralPage)
    def get(self, args):
        """Referrals of the caller's sites, oldest first; filter by site, status, program."""
        items, cursor = referrals.list_referrals(args, components(), current_principal())
        return {"items": items, "next_cursor": cursor}


@blp.route("/<referral_id>")
class ReferralById(MethodView):
    @require_roles(*COORDINATING, "therapist")
    @blp.response(200, Referral)
    def get(self, referral_id):
        """A referral with the client's details, for staff of its site."""
        return referrals.read(referral_id, components(), current_principal())

    @require_roles(*COORDINATING)
    @blp.arguments(ReferralPatch, example={"client": {"phone": "+1 312 555 0199"}})
    @blp.response(200, Referral)
    def patch(self, body, referral_id):
        """Correct the client's contact details (only the fields sent change)."""
        return referrals.correct_contact(referral_id, body, components(), current_principal())
