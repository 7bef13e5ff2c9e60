"""Use cases of the referral pipeline: receipt, screening, eligibility, orientation, commitment,
therapist matching, admission, withdrawal, and the staff's view of a referral.

Every read or write of a referral leaves one audit record, written before the change: an
attempt that fails afterwards is still on the trail. Each step saves the referral and the events
it caused in one guarded write; a concurrent change answers 409 (``StaleWrite``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from dbt_shared.auth import Principal
from dbt_shared.errors import Conflict, InvalidInput
from dbt_shared.events import outbox
from dbt_shared.pagination import page_union
from dbt_shared.storage import listing
from intake import events, metrics
from intake.bootstrap import Components
from intake.domain import matching, programs, screening
from intake.domain.referral import NoTherapistAvailable, Referral
from intake.repository import program_list, site_list, status_head, status_list
from intake.services import lookups
from intake.services.access import own_clinician_ids, sees_whole_site, visible_referral
from intake.services.duplicates import keep_person_key, rekey_person
from intake.services.organisation import site_e164
from intake.services.screenings import open_screening, seal_screening

CLIENT_SECRET_FIELDS = ("given_name", "family_name", "date_of_birth", "email", "phone")


# -- the staff's view --------------------------------------------------------------------------
def client_details(c: Components, referral: Referral) -> dict[str, Any]:
    return c.cipher.open(
        referral.state["client"], CLIENT_SECRET_FIELDS, record_id=referral.id, prefix="client"
    )


def view(c: Components, referral: Referral) -> dict[str, Any]:
    """A referral as its site's staff see it: client data decrypted, bookkeeping removed."""
    rid, state = referral.id, referral.state
    shown = dict(outbox.public(state))
    shown["client"] = client_details(c, referral)
    shown["allowed_actions"] = referral.allowed_actions()
    shown["screenings"] = [open_screening(c, rid, s) for s in state.get("screenings", [])]
    if state.get("eligibility"):
        reason = c.cipher.decrypt(
            state["eligibility"]["reason"], record_id=rid, field="eligibility.reason"
        )
        shown["eligibility"] = {**state["eligibility"], "reason": reason}
    if (state.get("withdrawal") or {}).get("note"):
        note = c.cipher.decrypt(state["withdrawal"]["note"], record_id=rid, field="withdrawal.note")
        shown["withdrawal"] = {**state["withdrawal"], "note": note}
    return shown


def _audit(c: Components, principal: Principal, action: str, referral: Referral) -> None:
    c.repositories.audit.record(
        principal,
        action=f"referral.{action}",
        object_type="referral",
        object_id=referral.id,
        site_id=referral.site_id,
    )


def _save(c: Components, referral: Referral) -> Referral:
    stored = c.repositories.save_referral(
        referral, [events.for_referral(referral.state, e, c.clock) for e in referral.events]
    )
    referral.events.clear()
    return stored


# -- receipt, reading, listing -----------------------------------------------------------------
def receive(body: dict[str, Any], c: Components, principal: Principal, new_id: str):
    """Record a referral; answers the staff's view (+ ``possible_duplicates``), whether new."""
    principal.require_site(body["site_id"])
    if not c.repositories.site_exists(body["site_id"]):
        raise InvalidInput.field("site_id", "Unknown site.")
    client = {
        **body["client"],
        "date_of_birth": body["client"]["date_of_birth"].isoformat(),
        # E.164, the site's country for a number without one: the SMS provider's From matches it
        "phone": site_e164(c, body["site_id"], body["client"]["phone"], "client.phone"),
    }
    referral = Referral.receive(
        new_id,
        site_id=body["site_id"],
        program=body["program"],
        source=body["source"],
        sealed_client=c.cipher.seal(
            client, CLIENT_SECRET_FIELDS, record_id=new_id, prefix="client"
        ),
        by=principal.subject,
        now=c.clock.now(),
    )
    keys = keep_person_key(c, referral.state, client)
    recorded = [events.for_referral(referral.state, e, c.clock) for e in referral.events]
    stored, created = c.repositories.add_referral(referral, recorded)
    if created:
        metrics.REFERRALS_RECEIVED.labels(body["program"]).inc()
    _audit(c, principal, "create" if created else "create_replayed", stored)
    others = c.repositories.open_referral_ids(stored.site_id, keys, besides=stored.id)
    return {**view(c, stored), "possible_duplicates": others}, created


def replayed(referral_id: str, c: Components, principal: Principal) -> None:
    """An ``Idempotency-Key`` replay showed a created referral again: audit it."""
    referral = c.repositories.referral(referral_id)
    if referral is not None:
        _audit(c, principal, "create_replayed", referral)


def screening_replayed(referral_id: str, c: Components, principal: Principal) -> None:
    """An ``Idempotency-Key`` replay shows a screening's result (scores, risk level, PHQ-9 item
    9) again: audited before the answer goes, and only to a caller who may still see it."""
    referral = visible_referral(c, principal, referral_id)
    _audit(c, principal, "record_screening_replayed", referral)


def read(referral_id: str, c: Components, principal: Principal) -> dict[str, Any]:
    referral = visible_referral(c, principal, referral_id)
    _audit(c, principal, "read", referral)
    return view(c, referral)


def list_referrals(args: dict[str, Any], c: Components, principal: Principal):
    """Referrals of the caller's sites, oldest first (site by site); filter by site, status
    (oldest in that status first, program by program), program."""
    query: dict[str, Any] = {}
    for name in ("site_id", "status", "program"):
        if args.get(name):
            query[name] = args[name]
    if args.get("site_id"):
        principal.require_site(args["site_id"])
    own = own_clinician_ids(c, principal, query.get("site_id"))
    if own is not None:  # a therapist: one query per clinician record of theirs
        # rows index: therapist_list (therapist_id, _id): the therapist's own referrals
        items, cursor = page_union(
            c.repositories.rows,
            [{**query, "therapist_id": clinician_id} for clinician_id in own],
            limit=args["limit"],
            cursor=args["cursor"],
        )
    else:
        if "site_id" in query:
            sites = [query["site_id"]]
        elif principal.site_filter() is None:  # every site
            sites = c.repositories.site_ids()
        else:
            sites = sorted(principal.sites)
        lanes = [
            lane
            for site_id in sites
            if principal.can_act_on_site(site_id) and sees_whole_site(principal, site_id)
            for lane in _lanes(site_id, args.get("status"), args.get("program"))
        ]
        items, cursor = listing.page(
            c.repositories.rows,
            lanes,
            c.repositories.sequences,
            limit=args["limit"],
            cursor=args["cursor"],
            clock=c.clock,
        )
    scope = args.get("site_id") or "*"
    c.repositories.audit.record_list(principal, "referral.list", "referral_list", scope)
    names = lookups.row_names(c, principal, items)  # the page's names: in its rows
    for item in items:
        item["display_name"] = names.get(item["_id"])
    return items, cursor


def _lanes(site_id: str, status: str | None, program: str | None) -> list[listing.Lane]:
    """The lists a site's page walks: each filter reads a list of its own, so a rare status or
    program costs a page, not the site's history."""
    if status:
        # rows index: status_list (site_id, program, status, status_bucket, _id), one list per
        # program (a status alone: the adults', then the adolescents'), each from its head:
        # referrals leave a status from the front
        return [
            listing.Lane(
                {"site_id": site_id, "program": kind, "status": status},
                status_list(site_id, kind, status),
                "status_bucket",
                head_key=status_head(site_id, kind, status),
            )
            for kind in ([program] if program else programs.PROGRAM_KINDS)
        ]
    if program:
        # rows index: program_list (site_id, program, program_bucket, _id)
        return [
            listing.Lane(
                {"site_id": site_id, "program": program},
                program_list(site_id, program),
                "program_bucket",
            )
        ]
    # rows index: site_list (site_id, site_bucket, _id): a site's list in buckets
    return [listing.Lane({"site_id": site_id}, site_list(site_id), "site_bucket")]


def correct_contact(referral_id: str, body: dict[str, Any], c: Components, principal: Principal):
    """Correct the client's contact details (only the fields sent change)."""
    referral = visible_referral(c, principal, referral_id)
    changes = dict(body["client"])
    if "date_of_birth" in changes:
        changes["date_of_birth"] = changes["date_of_birth"].isoformat()
    if changes.get("phone"):
        changes["phone"] = site_e164(c, referral.site_id, changes["phone"], "client.phone")
    sealed = c.cipher.seal(changes, CLIENT_SECRET_FIELDS, record_id=referral_id, prefix="client")
    _audit(c, principal, "update_contact", referral)
    rekey_person(c, referral.state, changes)
    referral.correct_contact(sealed, now=c.clock.now())
    return view(c, _save(c, referral))


# -- the steps ---------------------------------------------------------------------------------
def record_screening(
    referral_id: str, body: dict[str, Any], c: Components, principal: Principal, new_id: str
) -> dict[str, Any]:
    """Score the answers, flag risk; a high risk alerts the clinical lead (via the event)."""
    referral = visible_referral(c, principal, referral_id)
    try:
        assessment = screening.assess(
            body["cssrs"], body["phq9"], body["gad7"], body["ders16_total"], body["bsl23_mean"]
        )
    except ValueError as exc:
        raise InvalidInput.field("screening", str(exc)) from exc
    summary = {
        "id": new_id,
        "completed_at": c.clock.now(),
        "completed_by": principal.subject,
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
        "answers": c.cipher.encrypt_json(
            {"cssrs": body["cssrs"], "phq9": body["phq9"], "gad7": body["gad7"]},
            record_id=referral_id,
            field=f"screenings.{new_id}",
        ),
    }
    _audit(c, principal, "record_screening", referral)
    referral.record_screening(
        seal_screening(c, referral_id, summary),
        needs_immediate_response=assessment.needs_immediate_response,
        by=principal.subject,
        now=c.clock.now(),
    )
    stored = _save(c, referral)
    metrics.SCREENINGS.labels(assessment.risk_level).inc()
    return {
        **{k: v for k, v in summary.items() if k != "answers"},
        "referral_id": referral_id,
        "referral_status": stored.status,
        "needs_immediate_response": assessment.needs_immediate_response,
        "safety_resources": screening.safety_resources_for(assessment),
    }


def decide_eligibility(referral_id: str, body: dict, c: Components, principal: Principal):
    referral = visible_referral(c, principal, referral_id)
    eligibility = {
        "decision": body["decision"],
        "reason": c.cipher.encrypt(
            body["reason"], record_id=referral_id, field="eligibility.reason"
        ),
        "decided_by": principal.subject,
        "decided_at": c.clock.now(),
    }
    _audit(c, principal, "decide_eligibility", referral)
    referral.decide_eligibility(eligibility, by=principal.subject, now=c.clock.now())
    return view(c, _save(c, referral))


def start_orientation(referral_id: str, c: Components, principal: Principal):
    referral = visible_referral(c, principal, referral_id)
    _audit(c, principal, "start_orientation", referral)
    referral.start_orientation(by=principal.subject, now=c.clock.now())
    return view(c, _save(c, referral))


def record_commitment(referral_id: str, body: dict, c: Components, principal: Principal):
    referral = visible_referral(c, principal, referral_id)
    commitment = {**body, "recorded_by": principal.subject, "committed_at": c.clock.now()}
    _audit(c, principal, "record_commitment", referral)
    referral.record_commitment(commitment, dict(body), by=principal.subject, now=c.clock.now())
    return view(c, _save(c, referral))


def _candidates(c: Components, site_id: str) -> list[matching.Candidate]:
    caseloads = c.repositories.caseloads(site_id)
    return [
        matching.Candidate(
            clinician_id=clinician["_id"],
            display_name=clinician["display_name"],
            roles=tuple(clinician["roles"]),
            programs=tuple(clinician["programs"]),
            languages=tuple(clinician["languages"]),
            caseload=caseloads.get(clinician["_id"], 0),
            caseload_limit=clinician["caseload_limit"],
            active=clinician.get("active", True),
        )
        for clinician in c.repositories.clinicians_of(site_id)
    ]


def assign_therapist(referral_id: str, body: dict, c: Components, principal: Principal):
    """Matched (site, program, language, free caseload, least loaded first, preference
    honoured) or by hand with ``clinician_id``; the reasons explain the choice."""
    referral = visible_referral(c, principal, referral_id)
    candidates = _candidates(c, referral.site_id)
    language = body["language"] or client_details(c, referral).get("language")
    if body["clinician_id"]:
        chosen = next((x for x in candidates if x.clinician_id == body["clinician_id"]), None)
        if chosen is None or "therapist" not in chosen.roles or not chosen.active:
            raise InvalidInput.field(
                "clinician_id", "No active therapist with this id at the site."
            )
        method, reasons, clinician_id = "manual", ["assigned by hand"], chosen.clinician_id
        if chosen.caseload >= chosen.caseload_limit:
            reasons.append(f"over caseload limit ({chosen.caseload} of {chosen.caseload_limit})")
    else:
        result = matching.match_therapist(
            candidates,
            program=referral.program,
            language=language,
            preferred_clinician_id=body["preferred_clinician_id"],
        )
        if result is None:
            why = matching.explain_no_match(candidates, referral.program, language)
            raise NoTherapistAvailable(
                "No therapist can take this client: " + "; ".join(why) + ".", reasons=why
            )
        method, reasons, clinician_id = "matched", list(result.reasons), result.clinician_id
    assignment = {
        "clinician_id": clinician_id,
        "method": method,
        "reasons": reasons,
        "assigned_by": principal.subject,
        "assigned_at": c.clock.now(),
    }
    _audit(c, principal, "assign_therapist", referral)
    referral.assign_therapist(assignment, by=principal.subject, now=c.clock.now())
    return view(c, _save(c, referral))


def admit(referral_id: str, body: dict, c: Components, principal: Principal):
    """Needs eligible, committed and a therapist; captures when the client can attend."""
    referral = visible_referral(c, principal, referral_id)
    program = c.repositories.program(referral.site_id, referral.program)
    _audit(c, principal, "admit", referral)
    if program is None:
        raise NoProgram(f"The site has no {referral.program} program configured yet.")
    now = c.clock.now()
    admission = {
        "program_id": program["_id"],
        "availability": body["availability"],
        "admitted_by": principal.subject,
        "admitted_at": now,
    }
    referral.admit(admission, by=principal.subject, now=now)
    stored = _save(c, referral)
    metrics.ADMISSIONS.labels(referral.program).inc()
    waited = now - referral.state["received_at"]
    metrics.DAYS_TO_ADMISSION.labels(referral.program).observe(waited / timedelta(days=1))
    return view(c, stored)


def withdraw(referral_id: str, body: dict, c: Components, principal: Principal):
    referral = visible_referral(c, principal, referral_id)
    withdrawal = {
        "reason": body["reason"],
        "note": c.cipher.encrypt(body["note"], record_id=referral_id, field="withdrawal.note"),
        "withdrawn_by": principal.subject,
        "withdrawn_at": c.clock.now(),
        "from_status": referral.status,
    }
    _audit(c, principal, "withdraw", referral)
    referral.withdraw(withdrawal, by=principal.subject, now=c.clock.now())
    stored = _save(c, referral)
    metrics.WITHDRAWALS.labels(body["reason"]).inc()
    return view(c, stored)


class NoProgram(Conflict):
    pass
