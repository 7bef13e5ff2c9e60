"""Intake's HTTP API.

Operators set up sites, programs and clinicians; coordinators of a site take its referrals from
receipt to admission; the ``service`` role reads a client's contact channels at send time;
operators read the audit trail. Every read or write of client data leaves one audit record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from flask import current_app, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from dbt_shared import audit
from dbt_shared.auth import (
    STAFF_AND_SERVICES,
    current_principal,
    require_roles,
    require_site,
    scope_query,
)
from dbt_shared.events import outbox
from dbt_shared.events.envelope import Event
from dbt_shared.idempotency import idempotent, insert_or_get, resource_id
from dbt_shared.pagination import page
from dbt_shared.problems import PROBLEM_TYPE_BASE, Problem, conflict, not_found
from dbt_shared.web import context
from intake import events, matching, metrics, pipeline, programs, screening, store
from intake.protection import FieldCipher
from intake.schemas import (
    AdmissionIn,
    AuditArgs,
    AuditPage,
    ClientContact,
    Clinician,
    ClinicianIn,
    ClinicianPage,
    CommitmentIn,
    EligibilityIn,
    PageArgs,
    Program,
    ProgramIn,
    ProgramPage,
    ProgramPatch,
    Referral,
    ReferralIn,
    ReferralListArgs,
    ReferralPage,
    ReferralPatch,
    ScreeningIn,
    ScreeningResult,
    Site,
    SiteIn,
    SitePage,
    TherapistIn,
    Waitlist,
    WaitlistArgs,
    WithdrawalIn,
)

sites = Blueprint(
    "sites", __name__, url_prefix="/v1/sites", description="Sites, programs, clinicians"
)
referrals = Blueprint(
    "referrals", __name__, url_prefix="/v1/referrals", description="Referral to admission"
)
clients = Blueprint("clients", __name__, url_prefix="/v1/clients", description="Client contact")
oversight = Blueprint("oversight", __name__, url_prefix="/v1", description="Waitlist and audit")

STAFF = ("coordinator", "operator")
# Pipeline actions a client of this API can take (each has its endpoint below).
ACTIONS_WITH_ENDPOINTS = frozenset(
    {
        "record_screening",
        "decide_eligibility",
        "start_orientation",
        "assign_therapist",
        "record_commitment",
        "admit",
        "withdraw",
    }
)
CLIENT_SECRET_FIELDS = ("given_name", "family_name", "date_of_birth", "email", "phone")
IDEMPOTENCY_DOC = {
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


def cipher() -> FieldCipher:
    return current_app.extensions["intake.cipher"]


def _unprocessable(field: str, message: str) -> Problem:
    return Problem(
        422,
        "Unprocessable Content",
        "The request has invalid fields; see errors.",
        errors=[{"field": field, "location": "json", "message": message}],
    )


def _refusal(kind: str, detail: str, **extra: Any) -> Problem:
    """409: the request is well-formed, but the referral's state does not allow it."""
    return Problem(409, "Conflict", detail, type_=PROBLEM_TYPE_BASE + kind, extra=extra)


def _audit(action: str, object_type: str, object_id: str, site_id: str) -> None:
    ctx = context()
    audit.record(
        ctx.db,
        ctx.clock,
        action=action,
        object_type=object_type,
        object_id=object_id,
        site_id=site_id,
    )


def audit_replay(path: str, resource_id: str) -> None:
    """An ``Idempotency-Key`` replay of a created referral shows the client again: audit it."""
    if path == "/v1/referrals":
        referral = context().db[store.REFERRALS].find_one({"_id": resource_id}, {"site_id": 1})
        if referral:
            _audit("referral.create_replayed", "referral", resource_id, referral["site_id"])


# == sites ====================================================================================
@sites.route("")
class Sites(MethodView):
    @require_roles("operator")
    @sites.arguments(
        SiteIn,
        example={
            "name": "Riverside Clinic",
            "timezone": "America/Chicago",
            "intake_email": "intake@riverside.example.org",
            "clinical_lead": {"name": "Dr. Lee", "email": "lead@riverside.example.org"},
        },
    )
    @sites.doc(**IDEMPOTENCY_DOC)
    @idempotent
    @sites.response(201, Site)
    def post(self, body):
        """Register a site (operators)."""
        ctx = context()
        site = {"_id": resource_id(), **body, "created_at": ctx.clock.now()}
        document = outbox.new_document_with_events(site, [events.site_registered(site, ctx.clock)])
        stored, _ = insert_or_get(ctx.db[store.SITES], document)
        location = url_for("sites.SiteById", site_id=site["_id"])
        return outbox.public(stored), 201, {"Location": location}

    @require_roles(*STAFF_AND_SERVICES)
    @sites.arguments(PageArgs, location="query")
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


def _site(site_id: str) -> dict[str, Any]:
    require_site(site_id, "site")
    site = context().db[store.SITES].find_one({"_id": site_id}, {outbox.OUTBOX_FIELD: 0})
    if site is None:
        raise not_found("site")
    return site


@sites.route("/<site_id>")
class SiteById(MethodView):
    @require_roles(*STAFF_AND_SERVICES)
    @sites.response(200, Site)
    def get(self, site_id):
        """A site, for operators, services and the site's own staff."""
        return _site(site_id)


# == programs =================================================================================
def _program_document(site_id: str, kind: str, settings: programs.ProgramSettings) -> dict:
    return {
        "site_id": site_id,
        "kind": kind,
        "settings": {**asdict(settings), "cycle_weeks": programs.cycle_weeks(settings.curriculum)},
    }


def _settings(kind: str, overrides: dict[str, Any]) -> programs.ProgramSettings:
    try:
        return programs.settings_with(kind, overrides)
    except ValueError as exc:
        field = "settings.curriculum" if "curriculum" in str(exc).lower() else "settings"
        raise _unprocessable(field, str(exc)) from exc


@sites.route("/<site_id>/programs")
class SitePrograms(MethodView):
    @require_roles("operator")
    @sites.arguments(ProgramIn, example={"kind": "adult", "settings": {"group_capacity": 9}})
    @sites.response(201, Program)
    def post(self, body, site_id):
        """Create the site's adult or adolescent program; unset settings take DBT defaults."""
        ctx = context()
        _site(site_id)
        settings = _settings(body["kind"], body["settings"])
        now = ctx.clock.now()
        program = {
            "_id": f"{site_id}:{body['kind']}",
            **_program_document(site_id, body["kind"], settings),
            "created_at": now,
            "updated_at": now,
        }
        document = outbox.new_document_with_events(
            program, [events.program_configured(program, ctx.clock)]
        )
        stored, created = insert_or_get(ctx.db[store.PROGRAMS], document)
        if not created:
            raise conflict(f"The site already has a {body['kind']} program; PATCH its settings.")
        return outbox.public(stored), 201

    @sites.response(200, ProgramPage)
    def get(self, site_id):
        """The site's programs with their settings."""
        _site(site_id)
        items = list(
            context().db[store.PROGRAMS].find({"site_id": site_id}, {outbox.OUTBOX_FIELD: 0})
        )
        return {"items": items, "next_cursor": None}


@sites.route("/<site_id>/programs/<program_id>")
class SiteProgram(MethodView):
    @require_roles("operator")
    @sites.arguments(ProgramPatch, example={"settings": {"twenty_four_hour_rule": False}})
    @sites.response(200, Program)
    def patch(self, body, site_id, program_id):
        """Change some settings of a program; the others keep their values."""
        ctx = context()
        _site(site_id)
        current = ctx.db[store.PROGRAMS].find_one({"_id": program_id, "site_id": site_id})
        if current is None:
            raise not_found("program")
        kept = {k: v for k, v in current["settings"].items() if k != "cycle_weeks"}
        settings = _settings(current["kind"], {**kept, **body["settings"]})
        changed = {**current, **_program_document(site_id, current["kind"], settings)}
        changed["updated_at"] = ctx.clock.now()
        update = {"$set": {"settings": changed["settings"], "updated_at": changed["updated_at"]}}
        stored = ctx.db[store.PROGRAMS].find_one_and_update(
            {"_id": program_id},
            outbox.update_with_events(update, [events.program_configured(changed, ctx.clock)]),
            return_document=ReturnDocument.AFTER,
        )
        return outbox.public(stored)


# == clinicians ===============================================================================
@sites.route("/<site_id>/clinicians")
class SiteClinicians(MethodView):
    @require_roles("operator")
    @sites.arguments(
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
    @sites.response(201, Clinician)
    def post(self, body, site_id):
        """Register a clinician at the site."""
        ctx = context()
        _site(site_id)
        clinician = {
            "_id": resource_id(),
            "site_id": site_id,
            **body,
            "active": True,
            "created_at": ctx.clock.now(),
        }
        document = outbox.new_document_with_events(
            clinician, [events.clinician_registered(clinician, ctx.clock)]
        )
        if ctx.db[store.CLINICIANS].count_documents(
            {"site_id": site_id, "subject": body["subject"]}, limit=1
        ):
            raise conflict("A clinician with this subject is already registered at the site.")
        try:
            stored, _ = insert_or_get(ctx.db[store.CLINICIANS], document)
        except DuplicateKeyError as exc:  # registered by someone else at the same moment
            raise conflict(
                "A clinician with this subject is already registered at the site."
            ) from exc
        return {**outbox.public(stored), "caseload": 0}, 201

    @require_roles("operator", "coordinator", "therapist", "facilitator")
    @sites.response(200, ClinicianPage)
    def get(self, site_id):
        """The site's clinicians with their current caseload."""
        ctx = context()
        _site(site_id)
        items = [
            {**c, "caseload": store.caseload(ctx.db, c["_id"])}
            for c in ctx.db[store.CLINICIANS].find({"site_id": site_id}, {outbox.OUTBOX_FIELD: 0})
        ]
        return {"items": items, "next_cursor": None}


# == referrals ================================================================================
def _client_plain(referral: dict[str, Any]) -> dict[str, Any]:
    return cipher().open(
        referral["client"], CLIENT_SECRET_FIELDS, record_id=referral["_id"], prefix="client"
    )


def _view(referral: dict[str, Any]) -> dict[str, Any]:
    """A referral as its site's staff see it: client data decrypted, bookkeeping removed."""
    rid = referral["_id"]
    view = dict(outbox.public(referral))
    view["client"] = _client_plain(referral)
    view["allowed_actions"] = [
        a for a in pipeline.allowed_actions(referral["status"]) if a in ACTIONS_WITH_ENDPOINTS
    ]
    view["screenings"] = [
        {k: v for k, v in s.items() if k != "answers"} for s in referral.get("screenings", [])
    ]
    if referral.get("eligibility"):
        reason = cipher().decrypt(
            referral["eligibility"]["reason"], record_id=rid, field="eligibility.reason"
        )
        view["eligibility"] = {**referral["eligibility"], "reason": reason}
    if referral.get("withdrawal", {}).get("note"):
        note = cipher().decrypt(
            referral["withdrawal"]["note"], record_id=rid, field="withdrawal.note"
        )
        view["withdrawal"] = {**referral["withdrawal"], "note": note}
    return view


def _own_clients_only() -> list[str] | None:
    """For a therapist (without a coordinator's or operator's role): the clinician ids that are
    theirs, since minimum necessary limits them to the clients assigned to them. ``None`` for
    staff who may see every referral of their sites."""
    principal = current_principal()
    if principal.has_role("coordinator", "operator", "service"):
        return None
    return [
        c["_id"]
        for c in context()
        .db[store.CLINICIANS]
        .find(
            {"subject": principal.subject, "site_id": {"$in": sorted(principal.sites)}},
            {"_id": 1},
        )
    ]


def _referral(referral_id: str) -> dict[str, Any]:
    """The referral, if the caller may act on it; otherwise 404 (its existence not disclosed)."""
    referral = context().db[store.REFERRALS].find_one({"_id": referral_id})
    if referral is None or not current_principal().can_act_on_site(referral["site_id"]):
        raise not_found("referral")
    own = _own_clients_only()
    if own is not None and (referral.get("therapist") or {}).get("clinician_id") not in own:
        raise not_found("referral")
    return referral


def _advance(
    referral: dict[str, Any],
    action: str,
    *,
    changes: dict[str, Any],
    emit: Callable[[], list[Event]] = list,
    facts: dict[str, Any] | None = None,
    append: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Apply one pipeline step: the rule decides, then one atomic write records state + events.

    The write only lands if the referral is still the revision the rule saw (``_rev``), so two
    coordinators acting at once cannot both change it, and an event never describes a state
    that another write has meanwhile replaced. The audit record is written first: an attempt
    that fails afterwards is still on the trail.
    """
    ctx = context()
    _audit(f"referral.{action}", "referral", referral["_id"], referral["site_id"])
    try:
        new_status = pipeline.transition(referral["status"], action, **(facts or {}))
    except pipeline.IllegalTransition as exc:
        raise _refusal(
            "illegal-transition",
            str(exc),
            current_status=referral["status"],
            action=action,
        ) from exc
    now = ctx.clock.now()
    update: dict[str, Any] = {
        "$set": {**changes, "status": new_status, "updated_at": now},
        "$inc": {"_rev": 1},
    }
    pushes = dict(append or {})
    if new_status != referral["status"]:
        pushes["history"] = {"status": new_status, "at": now, "by": current_principal().subject}
    if pushes:
        update["$push"] = pushes
    stored = ctx.db[store.REFERRALS].find_one_and_update(
        {"_id": referral["_id"], "_rev": referral.get("_rev", 0)},
        outbox.update_with_events(update, emit()),  # built only once the rule said yes
        return_document=ReturnDocument.AFTER,
    )
    if stored is None:
        raise conflict("The referral changed meanwhile; reload it and try again.")
    return stored


@referrals.route("")
class Referrals(MethodView):
    @require_roles(*STAFF)
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
                "preferred_channel": "sms",
                "language": "es",
            },
        },
    )
    @referrals.doc(**IDEMPOTENCY_DOC)
    @idempotent
    @referrals.response(201, Referral)
    def post(self, body):
        """Record a referral for a site (coordinators of that site)."""
        ctx = context()
        require_site(body["site_id"], "site")
        if ctx.db[store.SITES].count_documents({"_id": body["site_id"]}, limit=1) == 0:
            raise _unprocessable("site_id", "Unknown site.")
        referral_id = resource_id()
        now = ctx.clock.now()
        client = {**body["client"], "date_of_birth": body["client"]["date_of_birth"].isoformat()}
        referral = {
            "_id": referral_id,
            "site_id": body["site_id"],
            "program": body["program"],
            "source": body["source"],
            "consent_to_contact": True,
            "status": pipeline.RECEIVED,
            "_rev": 0,
            "received_at": now,
            "received_by": current_principal().subject,
            "client": cipher().seal(
                client, CLIENT_SECRET_FIELDS, record_id=referral_id, prefix="client"
            ),
            "screenings": [],
            "history": [
                {"status": pipeline.RECEIVED, "at": now, "by": current_principal().subject}
            ],
        }
        document = outbox.new_document_with_events(
            referral, [events.referral_received(referral, ctx.clock)]
        )
        stored, created = insert_or_get(ctx.db[store.REFERRALS], document)
        if created:
            metrics.REFERRALS_RECEIVED.labels(body["program"]).inc()
        _audit(
            "referral.create" if created else "referral.create_replayed",
            "referral",
            stored["_id"],
            stored["site_id"],
        )
        location = url_for("referrals.ReferralById", referral_id=stored["_id"])
        return _view(stored), 201, {"Location": location}

    @require_roles(*STAFF, "therapist")
    @referrals.arguments(ReferralListArgs, location="query")
    @referrals.response(200, ReferralPage)
    def get(self, args):
        """Referrals of the caller's sites, oldest first; filter by site, status, program."""
        query: dict[str, Any] = {}
        if args.get("site_id"):
            require_site(args["site_id"], "site")
            query["site_id"] = args["site_id"]
        for name in ("status", "program"):
            if args.get(name):
                query[name] = args[name]
        own = _own_clients_only()
        if own is not None:
            query["therapist.clinician_id"] = {"$in": own}
        items, cursor = page(
            context().db[store.REFERRALS],
            scope_query(query),
            limit=args["limit"],
            cursor=args["cursor"],
            projection={"client": 0, outbox.OUTBOX_FIELD: 0, "screenings": 0},
        )
        _audit(
            "referral.list", "referral_list", args.get("site_id") or "*", args.get("site_id") or "*"
        )
        return {"items": items, "next_cursor": cursor}


@referrals.route("/<referral_id>")
class ReferralById(MethodView):
    @require_roles(*STAFF, "therapist")
    @referrals.response(200, Referral)
    def get(self, referral_id):
        """A referral with the client's details, for staff of its site."""
        referral = _referral(referral_id)
        _audit("referral.read", "referral", referral_id, referral["site_id"])
        return _view(referral)

    @require_roles(*STAFF)
    @referrals.arguments(ReferralPatch, example={"client": {"phone": "+1 312 555 0199"}})
    @referrals.response(200, Referral)
    def patch(self, body, referral_id):
        """Correct the client's contact details (only the fields sent change)."""
        ctx = context()
        referral = _referral(referral_id)
        if referral["status"] in (pipeline.WITHDRAWN,):
            raise conflict("A withdrawn referral cannot be changed.")
        changes = dict(body["client"])
        if "date_of_birth" in changes:
            changes["date_of_birth"] = changes["date_of_birth"].isoformat()
        sealed = cipher().seal(
            changes, CLIENT_SECRET_FIELDS, record_id=referral_id, prefix="client"
        )
        stored = ctx.db[store.REFERRALS].find_one_and_update(
            {"_id": referral_id},
            {
                "$set": {f"client.{k}": v for k, v in sealed.items()}
                | {"updated_at": ctx.clock.now()},
                "$inc": {"_rev": 1},
            },
            return_document=ReturnDocument.AFTER,
        )
        _audit("referral.update_contact", "referral", referral_id, referral["site_id"])
        return _view(stored)


@referrals.route("/<referral_id>/screenings")
class Screenings(MethodView):
    @require_roles(*STAFF)
    @referrals.arguments(
        ScreeningIn,
        example={
            "cssrs": [False, False, False, False, False, False],
            "phq9": [1, 1, 2, 1, 0, 1, 1, 0, 0],
            "gad7": [1, 1, 1, 0, 1, 0, 1],
            "ders16_total": 48,
            "bsl23_mean": 1.2,
        },
    )
    @referrals.doc(**IDEMPOTENCY_DOC)
    @idempotent
    @referrals.response(201, ScreeningResult)
    def post(self, body, referral_id):
        """Record screening answers; the service scores them and flags risk.

        A high risk level alerts the site's clinical lead at once, whatever the hour, and the
        response carries the safety resources to give the client now.
        """
        ctx = context()
        referral = _referral(referral_id)
        try:
            assessment = screening.assess(
                body["cssrs"], body["phq9"], body["gad7"], body["ders16_total"], body["bsl23_mean"]
            )
        except ValueError as exc:
            raise _unprocessable("screening", str(exc)) from exc
        screening_id = resource_id()
        now = ctx.clock.now()
        summary = {
            "id": screening_id,
            "completed_at": now,
            "completed_by": current_principal().subject,
            "risk_level": assessment.risk_level,
            "cssrs_risk": assessment.cssrs_risk,
            "phq9_total": assessment.phq9.total,
            "phq9_band": assessment.phq9.band,
            "phq9_self_harm_thoughts": assessment.phq9.self_harm_thoughts,
            "gad7_total": assessment.gad7.total,
            "gad7_band": assessment.gad7.band,
            "ders16_total": assessment.ders16_total,
            "bsl23_mean": assessment.bsl23_mean,
            "bsl23_band": assessment.bsl23_band,
            "flags": list(assessment.flags),
            "answers": cipher().encrypt_json(
                {"cssrs": body["cssrs"], "phq9": body["phq9"], "gad7": body["gad7"]},
                record_id=referral_id,
                field=f"screenings.{screening_id}",
            ),
        }
        new_events = [events.screening_completed(referral, screening_id, ctx.clock)]
        if assessment.needs_immediate_response:
            new_events.append(events.risk_flagged(referral, screening_id, ctx.clock))
        stored = _advance(
            referral,
            "record_screening",
            changes={},
            emit=lambda: new_events,
            append={"screenings": summary},
        )
        metrics.SCREENINGS.labels(assessment.risk_level).inc()
        result = {k: v for k, v in summary.items() if k != "answers"}
        return {
            **result,
            "referral_id": referral_id,
            "referral_status": stored["status"],
            "needs_immediate_response": assessment.needs_immediate_response,
            "safety_resources": screening.safety_resources_for(assessment),
        }, 201


@referrals.route("/<referral_id>/eligibility")
class EligibilityDecision(MethodView):
    @require_roles(*STAFF)
    @referrals.arguments(
        EligibilityIn, example={"decision": "eligible", "reason": "Meets criteria; BPD features."}
    )
    @referrals.response(200, Referral)
    def post(self, body, referral_id):
        """The coordinator's eligibility decision, with its reason."""
        referral = _referral(referral_id)
        now = context().clock.now()
        eligibility = {
            "decision": body["decision"],
            "reason": cipher().encrypt(
                body["reason"], record_id=referral_id, field="eligibility.reason"
            ),
            "decided_by": current_principal().subject,
            "decided_at": now,
        }
        stored = _advance(
            referral,
            "decide_eligibility",
            changes={"eligibility": eligibility},
            facts={"decision": body["decision"]},
        )
        return _view(stored)


@referrals.route("/<referral_id>/orientation")
class Orientation(MethodView):
    @require_roles(*STAFF)
    @referrals.response(200, Referral)
    def post(self, referral_id):
        """Start orientation and commitment sessions (the referral must be eligible)."""
        referral = _referral(referral_id)
        stored = _advance(
            referral,
            "start_orientation",
            changes={"orientation_started_at": context().clock.now()},
        )
        return _view(stored)


@referrals.route("/<referral_id>/commitment")
class CommitmentRecord(MethodView):
    @require_roles(*STAFF, "therapist")
    @referrals.arguments(
        CommitmentIn,
        example={
            "orientation_sessions": 2,
            "all_modes": True,
            "four_miss_rule": True,
            "consent_to_treatment": True,
        },
    )
    @referrals.response(200, Referral)
    def post(self, body, referral_id):
        """Record orientation held and the client's commitments; all are needed to commit."""
        referral = _referral(referral_id)
        commitment = {
            **body,
            "recorded_by": current_principal().subject,
            "committed_at": context().clock.now(),
        }
        try:
            stored = _advance(
                referral,
                "record_commitment",
                changes={"commitment": commitment},
                facts=dict(body),
            )
        except pipeline.CommitmentIncomplete as exc:
            # The referral may commit; the body does not yet say what commitment needs.
            raise Problem(
                422,
                "Unprocessable Content",
                "The commitment is incomplete: " + ", ".join(exc.missing) + ".",
                type_=PROBLEM_TYPE_BASE + "commitment-incomplete",
                errors=[
                    {
                        "field": name,
                        "location": "json",
                        "message": "Needed before admission: "
                        + pipeline.AGREEMENTS.get(name, "at least one orientation session held"),
                    }
                    for name in exc.missing
                ],
            ) from exc
        return _view(stored)


def _candidates(site_id: str) -> list[matching.Candidate]:
    db = context().db
    return [
        matching.Candidate(
            clinician_id=c["_id"],
            display_name=c["display_name"],
            roles=tuple(c["roles"]),
            programs=tuple(c["programs"]),
            languages=tuple(c["languages"]),
            caseload=store.caseload(db, c["_id"]),
            caseload_limit=c["caseload_limit"],
            active=c.get("active", True),
        )
        for c in db[store.CLINICIANS].find({"site_id": site_id})
    ]


@referrals.route("/<referral_id>/therapist")
class TherapistMatch(MethodView):
    @require_roles(*STAFF)
    @referrals.arguments(TherapistIn, example={"language": "es", "preferred_clinician_id": None})
    @referrals.response(200, Referral)
    def post(self, body, referral_id):
        """Assign a therapist: matched (site, program, language, free caseload, least loaded
        first, the client's preference honoured where possible), or by hand with
        ``clinician_id``. The response explains the choice in ``therapist.reasons``."""
        referral = _referral(referral_id)
        candidates = _candidates(referral["site_id"])
        language = body["language"] or _client_plain(referral).get("language")
        if body["clinician_id"]:
            chosen = next((c for c in candidates if c.clinician_id == body["clinician_id"]), None)
            if chosen is None or "therapist" not in chosen.roles or not chosen.active:
                raise _unprocessable(
                    "clinician_id", "No active therapist with this id at the site."
                )
            method = "manual"
            reasons = ["assigned by hand"]
            if chosen.caseload >= chosen.caseload_limit:
                reasons.append(
                    f"over caseload limit ({chosen.caseload} of {chosen.caseload_limit})"
                )
            clinician_id = chosen.clinician_id
        else:
            result = matching.match_therapist(
                candidates,
                program=referral["program"],
                language=language,
                preferred_clinician_id=body["preferred_clinician_id"],
            )
            if result is None:
                reasons = matching.explain_no_match(candidates, referral["program"], language)
                raise _refusal(
                    "no-therapist-available",
                    "No therapist can take this client: " + "; ".join(reasons) + ".",
                    reasons=reasons,
                )
            method, reasons, clinician_id = "matched", list(result.reasons), result.clinician_id
        assignment = {
            "clinician_id": clinician_id,
            "method": method,
            "reasons": reasons,
            "assigned_by": current_principal().subject,
            "assigned_at": context().clock.now(),
        }
        stored = _advance(
            referral,
            "assign_therapist",
            changes={"therapist": assignment},
            emit=lambda: [events.therapist_assigned(referral, assignment, context().clock)],
        )
        return _view(stored)


@referrals.route("/<referral_id>/admission")
class AdmissionRecord(MethodView):
    @require_roles(*STAFF)
    @referrals.arguments(
        AdmissionIn,
        example={"availability": [{"weekday": "tue", "start": "17:00", "end": "21:00"}]},
    )
    @referrals.response(200, Referral)
    def post(self, body, referral_id):
        """Admit the client: needs eligible, committed and a therapist. Captures when the
        client can attend, for placement into a skills group at the next module start."""
        ctx = context()
        referral = _referral(referral_id)
        program = store.program_for(ctx.db, referral["site_id"], referral["program"])
        if program is None:
            raise conflict(f"The site has no {referral['program']} program configured yet.")
        now = ctx.clock.now()
        admission = {
            "program_id": program["_id"],
            "availability": body["availability"],
            "admitted_by": current_principal().subject,
            "admitted_at": now,
        }
        try:
            stored = _advance(
                referral,
                "admit",
                changes={"admission": admission},
                emit=lambda: [events.client_admitted(referral, admission, ctx.clock)],
                facts={
                    "therapist_id": (referral.get("therapist") or {}).get("clinician_id"),
                    "eligibility": (referral.get("eligibility") or {}).get("decision"),
                },
            )
        except pipeline.AdmissionBlocked as exc:
            raise _refusal(
                "admission-blocked",
                "The client cannot be admitted yet: " + "; ".join(exc.reasons) + ".",
                reasons=list(exc.reasons),
            ) from exc
        metrics.ADMISSIONS.labels(referral["program"]).inc()
        waited = now - referral["received_at"]
        metrics.DAYS_TO_ADMISSION.labels(referral["program"]).observe(waited / timedelta(days=1))
        return _view(stored)


@referrals.route("/<referral_id>/withdrawal")
class WithdrawalRecord(MethodView):
    @require_roles(*STAFF)
    @referrals.arguments(WithdrawalIn, example={"reason": "client_declined", "note": None})
    @referrals.response(200, Referral)
    def post(self, body, referral_id):
        """Withdraw a referral before admission, with a reason code and an optional note."""
        referral = _referral(referral_id)
        withdrawal = {
            "reason": body["reason"],
            "note": cipher().encrypt(body["note"], record_id=referral_id, field="withdrawal.note"),
            "withdrawn_by": current_principal().subject,
            "withdrawn_at": context().clock.now(),
            "from_status": referral["status"],
        }
        stored = _advance(
            referral,
            "withdraw",
            changes={"withdrawal": withdrawal},
            emit=lambda: [events.referral_withdrawn(referral, withdrawal, context().clock)],
        )
        metrics.WITHDRAWALS.labels(body["reason"]).inc()
        return _view(stored)


# == clients ==================================================================================
@clients.route("/<client_id>/contact")
class ContactChannels(MethodView):
    @require_roles("service")
    @clients.response(200, ClientContact)
    def get(self, client_id):
        """What notifications needs at send time: channels, preference, language, time zone.

        For the ``service`` role only; the client id is the referral id."""
        ctx = context()
        referral = ctx.db[store.REFERRALS].find_one({"_id": client_id})
        if referral is None:
            raise not_found("client")
        client = _client_plain(referral)
        site = ctx.db[store.SITES].find_one({"_id": referral["site_id"]}, {"timezone": 1})
        _audit("client.contact_read", "client", client_id, referral["site_id"])
        return {
            "client_id": client_id,
            "site_id": referral["site_id"],
            "channels": {"email": client["email"], "sms": client["phone"]},
            "preferred_channel": client.get("preferred_channel", "email"),
            "language": client.get("language", "en"),
            "timezone": site["timezone"] if site else "UTC",
        }


# == waitlist and audit =======================================================================
@oversight.route("/waitlist")
class WaitlistView(MethodView):
    @require_roles(*STAFF)
    @oversight.arguments(WaitlistArgs, location="query")
    @oversight.response(200, Waitlist)
    def get(self, args):
        """Who is waiting at which stage and for how many days, oldest first."""
        ctx = context()
        require_site(args["site_id"], "site")
        query: dict[str, Any] = {
            "site_id": args["site_id"],
            "status": {"$in": list(pipeline.WAITING_STAGES)},
        }
        if args.get("program"):
            query["program"] = args["program"]
        items, cursor = page(
            ctx.db[store.REFERRALS],
            query,
            limit=args["limit"],
            cursor=args["cursor"],
            projection={"program": 1, "status": 1, "received_at": 1},
        )
        now = ctx.clock.now()
        for item in items:
            item["waiting_days"] = pipeline.waiting_days(item["received_at"], now)
        counts = {
            row["status"]: row["count"]
            for row in store.waitlist_counts(
                ctx.db, list(pipeline.WAITING_STAGES), args["site_id"], args.get("program")
            )
        }
        _audit("waitlist.read", "waitlist", args["site_id"], args["site_id"])
        return {
            "site_id": args["site_id"],
            "stages": [{"stage": s, "count": counts.get(s, 0)} for s in pipeline.WAITING_STAGES],
            "items": items,
            "next_cursor": cursor,
        }


@oversight.route("/audit")
class AuditTrail(MethodView):
    @require_roles("operator")
    @oversight.arguments(AuditArgs, location="query")
    @oversight.response(200, AuditPage)
    def get(self, args):
        """The audit trail of access to client data, oldest first, with filters."""
        query = {
            name: args[name]
            for name in ("site_id", "object_type", "object_id", "actor", "action")
            if args.get(name)
        }
        items, cursor = page(
            context().db[audit.AUDIT_COLLECTION], query, limit=args["limit"], cursor=args["cursor"]
        )
        return {"items": items, "next_cursor": cursor}
