"""Intake's HTTP API: sites (operators) and referrals (coordinators of the site)."""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from dbt_shared import audit
from dbt_shared.auth import current_principal, require_roles, require_site, scope_query
from dbt_shared.events import outbox
from dbt_shared.idempotency import idempotent, insert_or_get, resource_id
from dbt_shared.pagination import page
from dbt_shared.problems import Problem, not_found
from dbt_shared.web import context
from intake import events, store
from intake.domain import ReferralStatus
from intake.schemas import Referral, ReferralIn, Site, SiteIn, SiteListArgs, SitePage

sites = Blueprint("sites", __name__, url_prefix="/v1/sites", description="Sites (clinics)")
referrals = Blueprint(
    "referrals", __name__, url_prefix="/v1/referrals", description="Referrals into a program"
)

IDEMPOTENCY_HEADER_DOC = {
    "parameters": [
        {
            "in": "header",
            "name": "Idempotency-Key",
            "required": False,
            "schema": {"type": "string", "maxLength": 255},
            "description": "Retrying with the same key returns the first result.",
        }
    ]
}


@sites.route("")
class Sites(MethodView):
    @require_roles("operator")
    @sites.arguments(
        SiteIn,
        example={
            "name": "Riverside Clinic",
            "timezone": "America/Chicago",
            "intake_email": "intake@riverside.example.org",
        },
    )
    @sites.doc(**IDEMPOTENCY_HEADER_DOC)
    @idempotent
    @sites.response(201, Site)
    def post(self, body):
        """Register a site (operators only)."""
        ctx = context()
        site = {"_id": resource_id(), **body, "created_at": ctx.clock.now()}
        document = outbox.new_document_with_events(site, [events.site_registered(site, ctx.clock)])
        stored, _ = insert_or_get(ctx.db[store.SITES], document)
        return (
            outbox.public(stored),
            201,
            {"Location": url_for("sites.SiteById", site_id=site["_id"])},
        )

    @sites.arguments(SiteListArgs, location="query")
    @sites.response(200, SitePage)
    def get(self, args):
        """List the sites the caller may act on."""
        items, cursor = page(
            context().db[store.SITES],
            scope_query({}, site_field="_id"),
            limit=args["limit"],
            cursor=args["cursor"],
            projection={outbox.OUTBOX_FIELD: 0},
        )
        return {"items": items, "next_cursor": cursor}


@sites.route("/<site_id>")
class SiteById(MethodView):
    @sites.response(200, Site)
    def get(self, site_id):
        """A site, for operators, services and the site's own staff."""
        require_site(site_id, "site")
        site = context().db[store.SITES].find_one({"_id": site_id}, {outbox.OUTBOX_FIELD: 0})
        if site is None:
            raise not_found("site")
        return site


@referrals.route("")
class Referrals(MethodView):
    @require_roles("coordinator", "operator")
    @referrals.arguments(
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
            },
        },
    )
    @referrals.doc(**IDEMPOTENCY_HEADER_DOC)
    @idempotent
    @referrals.response(201, Referral)
    def post(self, body):
        """Record a referral for a site (coordinators of that site)."""
        ctx = context()
        require_site(body["site_id"], "site")
        if ctx.db[store.SITES].count_documents({"_id": body["site_id"]}, limit=1) == 0:
            raise Problem(
                422,
                "Unprocessable Content",
                "The request has invalid fields; see errors.",
                errors=[{"field": "site_id", "location": "json", "message": "Unknown site."}],
            )
        client = dict(body["client"])
        client["date_of_birth"] = client["date_of_birth"].isoformat()
        referral = {
            "_id": resource_id(),
            "site_id": body["site_id"],
            "program": body["program"],
            "source": body["source"],
            "consent_to_contact": True,
            "status": ReferralStatus.RECEIVED,
            "received_at": ctx.clock.now(),
            "received_by": current_principal().subject,
            "client": client,
        }
        document = outbox.new_document_with_events(
            referral, [events.referral_received(referral, ctx.clock)]
        )
        stored, created = insert_or_get(ctx.db[store.REFERRALS], document)
        audit.record(
            ctx.db,
            ctx.clock,
            action="referral.create" if created else "referral.create_replayed",
            object_type="referral",
            object_id=stored["_id"],
            site_id=stored["site_id"],
        )
        location = url_for("referrals.ReferralById", referral_id=stored["_id"])
        return outbox.public(stored), 201, {"Location": location}


@referrals.route("/<referral_id>")
class ReferralById(MethodView):
    @require_roles("coordinator", "operator", "therapist")
    @referrals.response(200, Referral)
    def get(self, referral_id):
        """A referral, for staff of its site."""
        ctx = context()
        referral = ctx.db[store.REFERRALS].find_one({"_id": referral_id}, {outbox.OUTBOX_FIELD: 0})
        if referral is None or not current_principal().can_act_on_site(referral["site_id"]):
            raise not_found("referral")
        audit.record(
            ctx.db,
            ctx.clock,
            action="referral.read",
            object_type="referral",
            object_id=referral_id,
            site_id=referral["site_id"],
        )
        return referral
