"""Coaching requests: routing, the crisis path, the 24-hour rule, acknowledgement, call-back,
closure, and the deadlines that escalate a request nobody answered.

Routing (non-crisis): the client's own therapist when on call, else the primary on call, else
the backup, else the site's clinical lead. The **crisis path** (``kind: crisis``, or any request
while the client's last diary card shows an urge to suicide of 4 or more) reaches the primary
and the backup at once, waits for no acknowledgement, and with fewer than two clinicians on call
also reaches the clinical lead (and with nobody on call, the site's intake address too). The
**24-hour rule** (a program setting) holds a non-crisis request for 24 hours after self-harm
was recorded: recorded, the therapist informed, the crisis route given. Safety wins: a crisis
request is never held.

Each open deadline (acknowledgement, call-back) is a document in ``request_deadlines``, which
holds only what is pending; the timer escalates what fell due (to the backup, then the clinical
lead) under the request's lock, and the request records each level it reached, so a restart
neither loses a deadline nor fires one twice.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from coaching import events, metrics
from coaching.bootstrap import Components
from coaching.domain import relationship, rota
from coaching.repository import ACTIVE_STATUSES, site_requests
from coaching.services.common import (
    COORDINATING,
    acting_clinician,
    audit,
    availability,
    aware,
    emergency_route,
    own_clinicians,
    program_settings,
    safety_of,
    site_settings,
    the_client,
    zone_of,
)
from dbt_shared import listing
from dbt_shared.auth import Principal
from dbt_shared.contracts import coaching as contract
from dbt_shared.errors import Conflict, NotFound

HOLD = timedelta(hours=24)
ACK, CALLBACK = "acknowledgement", "callback"
HELD = "held_24_hour_rule"
RULE_TEXT = (
    "Your program keeps the 24-hour rule: for 24 hours after self-harm, coaching calls wait "
    "so that help comes before harm, not after it. Your request is recorded and your "
    "therapist is told. If you are in danger now, use the emergency route."
)


def _lock(request_id: str) -> str:
    return f"coaching-request-steps/{request_id}"


def _history(request: dict[str, Any], what: str, by: str | None, now: datetime, **more):
    request.setdefault("history", []).append({"at": now, "what": what, "by": by, **more})


def _deadline(c: Components, request: dict[str, Any], kind: str, due: datetime) -> None:
    # Written before the request: a request is never without its deadline (a deadline whose
    # request never got written is dropped when it falls due).
    c.repositories.deadlines.insert(
        {
            "_id": f"{request['_id']}:{kind}",
            "request_id": request["_id"],
            "kind": kind,
            "level": 1,
            "due_at": due,
        }
    )


# -- creating a request --------------------------------------------------------------------------
def create(body: dict[str, Any], c: Components, principal: Principal) -> dict[str, Any]:
    client = the_client(c, principal)
    site_id = client["site_id"]
    now = c.clock.now()
    settings = site_settings(c, site_id)
    rules = program_settings(c, client)
    try:
        zone = zone_of(c, site_id)
        primary, backup, _within = rota.on_call(zone, *availability(c, site_id), now)
    except NotFound:  # the site not learned yet: nobody on call, the lead is reached
        primary = backup = None
    therapist = client.get("therapist_id")
    safety = safety_of(c, client)
    crisis = body["kind"] == "crisis" or safety["suicide_urge_high"]
    self_harm_at = safety["self_harm_at"]
    held = (
        not crisis
        and rules["twenty_four_hour_rule"]
        and self_harm_at is not None
        and now < self_harm_at + HOLD
    )
    request: dict[str, Any] = {
        "_id": uuid.uuid4().hex,
        "client_id": client["_id"],
        "site_id": site_id,
        "kind": body["kind"],
        "crisis": crisis,
        "created_at": now,
        "acknowledge_by": None,
        "call_back_by": None,
        "notify_clinical_lead": False,
        "notify_site_intake": False,
        "escalations": {ACK: 0, CALLBACK: 0},
        "emergency_number": settings["emergency_number"],
    }
    if crisis:
        notified = [x for x in dict.fromkeys((primary, backup)) if x]
        request.update(
            status="open",
            routed_to=notified[0] if notified else None,
            notified=notified,
            notify_clinical_lead=len(notified) < 2,
            notify_site_intake=not notified,
            call_back_by=now + timedelta(minutes=settings["callback_minutes"]),
            reason="crisis",
        )
    elif held:
        request.update(
            status=HELD,
            routed_to=therapist,
            notified=[therapist] if therapist else [],
            notify_clinical_lead=not therapist,
            reason="24_hour_rule",
            held_until=self_harm_at + HOLD,
        )
    else:
        if therapist and therapist in (primary, backup):
            to, reason = therapist, "own_therapist"
        elif primary:
            to, reason = primary, "primary_on_call"
        elif backup:
            to, reason = backup, "backup_on_call"
        else:
            to, reason = None, "clinical_lead"
        request.update(
            status="open",
            routed_to=to,
            notified=[to] if to else [],
            notify_clinical_lead=to is None,
            acknowledge_by=now + timedelta(minutes=rules["ack_minutes"]),
            call_back_by=now + timedelta(minutes=settings["callback_minutes"]),
            reason=reason,
        )
    request["active"] = request["status"] in ACTIVE_STATUSES
    _history(request, "created", principal.subject, now, notified=list(request["notified"]))
    listing.place(request, c.repositories.sequences, {"site_bucket": site_requests(site_id)})
    audit(c, principal, "coaching_request.create", "coaching_request", request["_id"], site_id)
    if request["acknowledge_by"] is not None:
        _deadline(c, request, ACK, request["acknowledge_by"])
    if request["call_back_by"] is not None:
        _deadline(c, request, CALLBACK, request["call_back_by"])
    stored, _ = c.repositories.requests.insert(request, [events.request_created(request, c.clock)])
    metrics.REQUESTS.labels(request["kind"], request["status"], request["reason"]).inc()
    return view(stored)


def view(request: dict[str, Any]) -> dict[str, Any]:
    shown = {
        "id": request["_id"],
        "emergency_route": emergency_route(request.get("emergency_number", "988")),
    }
    for name in (
        "client_id",
        "site_id",
        "kind",
        "status",
        "crisis",
        "routed_to",
        "notified",
        "notify_clinical_lead",
        "notify_site_intake",
        "acknowledge_by",
        "call_back_by",
        "reason",
        "held_until",
        "created_at",
        "acknowledged_at",
        "called_back_at",
        "closed_at",
        "outcome",
        "duration_minutes",
    ):
        if name in request:
            shown[name] = request[name]
    if request["status"] == HELD:
        shown["explanation"] = RULE_TEXT
    shown["history"] = request.get("history", [])
    return shown


# -- reading -------------------------------------------------------------------------------------
def _visible(c: Components, request_id: str, principal: Principal) -> dict[str, Any]:
    request = c.repositories.requests.get(request_id)
    if request is None:
        raise NotFound("coaching request")
    if principal.has_role("client"):
        if not principal.is_client_self(request["client_id"]):
            raise NotFound("coaching request")
    elif not principal.can_act_on_site(request["site_id"]) or not _involved(c, principal, request):
        raise NotFound("coaching request")
    return request


def _involved(c: Components, principal: Principal, request: dict[str, Any]) -> bool:
    """Staff who may see a request: the site's coordinators, the client's therapist and the
    clinicians it was routed or escalated to."""
    if principal.has_role(*COORDINATING):
        return True
    mine = {x["_id"] for x in own_clinicians(c, principal)}
    if mine & set(request.get("notified") or []) or request.get("routed_to") in mine:
        return True
    client = c.repositories.client(request["client_id"]) or {}
    return client.get("therapist_id") in mine


def read(request_id: str, c: Components, principal: Principal) -> dict[str, Any]:
    request = _visible(c, request_id, principal)
    audit(c, principal, "coaching_request.read", "coaching_request", request_id, request["site_id"])
    return view(request)


def list_requests(args: dict[str, Any], c: Components, principal: Principal):
    """A site's requests, those in hand first (oldest first), then the closed ones (in their
    list's buckets, oldest first; the cursor pages through those)."""
    site_id = args["site_id"]
    principal.require_site(site_id)
    if not principal.has_role(*COORDINATING):
        acting_clinician(c, principal, site_id)
    status = args.get("status")
    items: list[dict[str, Any]] = []
    if not args.get("cursor") and status in (None, *ACTIVE_STATUSES):
        items = c.repositories.active_requests(site_id, status, args["limit"])  # site_active
    cursor = None
    walked = status if status in ("closed", HELD) else "closed" if status is None else None
    if walked and len(items) < args["limit"]:
        # index: site_list (site_id, site_bucket, _id): the site's requests in buckets, the
        # status filter applied within each bucket
        lane = listing.Lane(
            {"site_id": site_id, "status": walked}, site_requests(site_id), "site_bucket"
        )
        more, cursor = listing.page(
            c.repositories.requests,
            [lane],
            c.repositories.sequences,
            limit=args["limit"] - len(items),
            cursor=args.get("cursor"),
        )
        items += more
    if not principal.has_role(*COORDINATING):  # a clinician: the requests they are part of
        items = [r for r in items if _involved(c, principal, r)]
    audit(c, principal, "coaching_request.list", "coaching_request_list", site_id, site_id)
    return [view(r) for r in items[: args["limit"]]], cursor


# -- acknowledgement, call-back, closure ---------------------------------------------------------
def _step(c: Components, request_id: str, principal: Principal, change) -> dict[str, Any]:
    with c.locks(_lock(request_id)):
        request = _visible(c, request_id, principal)
        clinician = acting_clinician(c, principal, request["site_id"])
        now = c.clock.now()
        event = change(request, clinician["_id"], now)
        request["active"] = request["status"] in ACTIVE_STATUSES
        audit(
            c,
            principal,
            f"coaching_request.{event[0]}",
            "coaching_request",
            request_id,
            request["site_id"],
        )
        stored = c.repositories.requests.save(
            request, [events.request_step(event[1], request, clinician["_id"], c.clock)]
        )
    return stored


def acknowledge(request_id: str, c: Components, principal: Principal) -> dict[str, Any]:
    def change(request, by, now):
        if request["status"] not in ("open", HELD):
            raise Conflict("This request was acknowledged already.", kind="request-state")
        request.update(status="acknowledged", acknowledged_at=now, acknowledged_by=by)
        _history(request, "acknowledged", by, now)
        return "acknowledge", contract.REQUEST_ACKNOWLEDGED

    stored = _step(c, request_id, principal, change)
    c.repositories.deadlines.delete(f"{request_id}:{ACK}")
    _observe(stored, "acknowledged_at")
    return view(stored)


def call_back(request_id: str, c: Components, principal: Principal) -> dict[str, Any]:
    def change(request, by, now):
        if request["status"] not in ("open", "acknowledged", HELD):
            raise Conflict("This request was called back or closed already.", kind="request-state")
        if "acknowledged_at" not in request:  # calling back answers the request too
            request.update(acknowledged_at=now, acknowledged_by=by)
        request.update(status="called_back", called_back_at=now, called_back_by=by)
        _history(request, "called_back", by, now)
        return "call_back", contract.REQUEST_CALLED_BACK

    stored = _step(c, request_id, principal, change)
    for kind in (ACK, CALLBACK):
        c.repositories.deadlines.delete(f"{request_id}:{kind}")
    _observe(stored, "called_back_at")
    return view(stored)


def close(request_id: str, body: dict[str, Any], c: Components, principal: Principal):
    def change(request, by, now):
        if request["status"] == "closed":
            raise Conflict("This request is closed already.", kind="request-state")
        request.update(
            status="closed",
            closed_at=now,
            closed_by=by,
            outcome=body["outcome"],
            duration_minutes=body["duration_minutes"],
        )
        _history(request, "closed", by, now, outcome=body["outcome"])
        return "close", contract.REQUEST_CLOSED

    stored = _step(c, request_id, principal, change)
    for kind in (ACK, CALLBACK):
        c.repositories.deadlines.delete(f"{request_id}:{kind}")
    _record_contact(c, stored)
    return view(stored)


def _observe(request: dict[str, Any], field: str) -> None:
    seconds = (aware(request[field]) - aware(request["created_at"])).total_seconds()
    metrics.RESPONSE_SECONDS.labels(field.removesuffix("_at")).observe(max(seconds, 0.0))


def _record_contact(c: Components, request: dict[str, Any]) -> None:
    """A closed request is a coaching contact of the clinician who closed it: their weekly
    minutes outside business hours, and a load flag past the site's threshold."""
    zone = zone_of(c, request["site_id"])
    minutes = int(request["duration_minutes"])
    started = aware(request.get("called_back_at") or request.get("acknowledged_at"))
    started = started or aware(request["closed_at"]) - timedelta(minutes=minutes)
    outside = relationship.minutes_outside_business_hours(started, minutes, zone)
    week = relationship.iso_week(started.astimezone(ZoneInfo(zone)).date())
    # The clinician who made the call carries its load (not whoever tidied up the closure).
    clinician_id = (
        request.get("called_back_by") or request.get("acknowledged_by") or request["closed_by"]
    )
    c.repositories.contacts.insert(
        {
            "_id": request["_id"],
            "clinician_id": clinician_id,
            "site_id": request["site_id"],
            "week": week,
            "started_at": started,
            "minutes": minutes,
            "outside_minutes": outside,
        }
    )
    metrics.OUTSIDE_HOURS_MINUTES.labels(request["site_id"]).inc(outside)
    total = sum(x["outside_minutes"] for x in c.repositories.contacts_in_week(clinician_id, week))
    threshold = site_settings(c, request["site_id"])["load_threshold_minutes"]
    if total > threshold:
        flag = {
            "_id": f"{clinician_id}:{week}",
            "clinician_id": clinician_id,
            "site_id": request["site_id"],
            "week": week,
            "minutes": total,
            "threshold_minutes": threshold,
        }
        c.repositories.load_flags.insert(flag, [events.load_high(flag, c.clock)])
