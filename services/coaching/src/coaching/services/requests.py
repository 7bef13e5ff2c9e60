"""Coaching requests: routing, the crisis path, the 24-hour rule, reading them (their steps
after that: ``steps``; their deadlines: ``escalation``; their holds: ``holds``; their pace:
``pace``).

Routing (non-crisis): the client's own therapist when on call, else the primary on call, else
the backup, else the site's clinical lead. The **crisis path** (``kind: crisis``, or any request
while the client's last diary card shows an urge to suicide of 4 or more) reaches the primary
and the backup at once, waits for no acknowledgement, and with fewer than two clinicians on call
also reaches the clinical lead (and with nobody on call, the site's intake address too). It is
always open: a client coaching does not know yet is answered and paged for at the site their
token names (``unverified`` says what could not be checked), it is never limited, and a repeat
within the site's ``crisis_repeat_minutes`` pages once more at most. The **24-hour rule** (a
program setting) holds a non-crisis request for 24 hours after self-harm was recorded:
recorded, the therapist informed, the crisis route given, released when the hold ends. Safety
wins: a crisis request is never held.

Each open deadline (acknowledgement, call-back) is a document in ``request_deadlines``, and
each hold one in ``request_holds``, both written before their request and holding only what is
pending; the timers act on what fell due under the request's lock, so a restart neither loses
one nor fires one twice."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from coaching import events, metrics
from coaching.bootstrap import Components
from coaching.domain import rota
from coaching.domain.requests import (
    ACK,
    ACTIVE_STATUSES,
    CALLBACK,
    HELD,
    HOLD,
    RULE_TEXT,
    add_history,
)
from coaching.repository import site_requests
from coaching.services import pace
from coaching.services.common import (
    COORDINATING,
    acting_clinician,
    audit,
    availability,
    emergency_route,
    own_clinicians,
    program_settings,
    safety_of,
    site_settings,
    zone_of,
)
from coaching.services.crisis import crisis_asked, requester, site_on_call
from dbt_shared.auth import Principal
from dbt_shared.errors import (
    NotFound,
    StaleWrite,
)
from dbt_shared.storage import listing
from dbt_shared.storage.context import together

log = logging.getLogger(__name__)


def steps_lock(request_id: str) -> str:
    return f"coaching-request-steps/{request_id}"


def add_deadline(c: Components, request: dict[str, Any], kind: str, due: datetime) -> None:
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
def create(
    body: dict[str, Any], c: Components, principal: Principal
) -> tuple[dict[str, Any], bool]:
    """A client asks for coaching; answers the request and whether it is a new one (a crisis
    repeat past the page budget joins the client's latest crisis request)."""
    now = c.clock.now()
    # The crisis path reads the client with their site at once (settings and who is on call),
    # and not the program's rules, which only a request that can wait (acknowledgement,
    # holds) follows.
    if body["kind"] == "crisis":
        client, unverified, settings, on_call = crisis_asked(c, principal, now)
        safety = safety_of(c, client)
    else:
        client, unverified = requester(c, principal, False)
        safety = safety_of(c, client)
        if not safety["suicide_urge_high"]:
            settings = site_settings(c, client["site_id"])
            rules = program_settings(c, client)
            pace.count_request(c, client["_id"], settings["request_limit_per_hour"], now)
            return _create(body, c, principal, client, [], settings, rules, safety, now), True
        settings, on_call = site_on_call(c, client["site_id"], now)
    with pace.crisis_turn(c, client["_id"]) as alone:
        window = timedelta(minutes=settings["crisis_repeat_minutes"])
        latest = pace.crisis_repeat_of(c, client["_id"], now, window) if alone else None
        if latest is not None:
            return _repeated(c, principal, latest, now), False
        request = _create(
            body, c, principal, client, unverified, settings, None, safety, now, on_call
        )
        if alone:
            pace.crisis_paged(c, client["_id"], request["id"], now)
    return request, True


def route_request(
    c: Components,
    client: dict[str, Any],
    site_id: str | None,
    now: datetime,
    settings: dict[str, Any] | None = None,
):
    """Whom a non-crisis request goes to now: the client's own therapist when on call, else the
    primary on call, else the backup, else the site's clinical lead."""
    primary, backup = _on_call(c, site_id, now, settings)
    therapist = client.get("therapist_id")
    if therapist and therapist in (primary, backup):
        return therapist, "own_therapist"
    if primary:
        return primary, "primary_on_call"
    if backup:
        return backup, "backup_on_call"
    return None, "clinical_lead"


def _on_call(
    c: Components, site_id: str | None, now: datetime, settings: dict[str, Any] | None = None
):
    """The primary and the backup on call at the site now; ``settings``: the site's coaching
    settings when the caller read them already (one read less on the crisis path)."""
    try:
        zone = zone_of(c, site_id) if site_id else None
    except NotFound:
        zone = None
    if zone is None:  # the site not learned yet: nobody on call, the lead is reached
        return None, None
    primary, backup, _within = rota.on_call(zone, *availability(c, site_id, settings), now)
    return primary, backup


def _create(
    body,
    c: Components,
    principal: Principal,
    client,
    unverified,
    settings,
    rules,
    safety,
    now,
    on_call: tuple[str | None, str | None] = (None, None),
) -> dict[str, Any]:
    """The request recorded; ``rules``: the program's (``None`` on the crisis path, which
    follows none of them); ``on_call``: the primary and backup on call (the crisis path)."""
    site_id = client["site_id"]
    therapist = client.get("therapist_id")
    crisis = body["kind"] == "crisis" or safety["suicide_urge_high"]
    self_harm_at = safety["self_harm_at"]
    held = (
        not crisis
        and rules is not None
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
    if unverified:
        request["unverified"] = list(unverified)
    if crisis:
        notified = [x for x in dict.fromkeys(on_call) if x]
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
        to, reason = route_request(c, client, site_id, now, settings)
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
    add_history(request, "created", principal.subject, now, notified=list(request["notified"]))
    if site_id is None:
        # A token naming no site, from a client coaching does not know: nobody can be named to
        # page (nor escalated to later), the client still has the emergency route. Logged for
        # the operators (the id only).
        log.error("crisis request with no site to page", extra={"request_id": request["_id"]})
        request["call_back_by"] = None
    # Before the request, and at once (``together``: none waits for another): its audit record,
    # its deadlines (a request is never without them), its hold (a held request is always
    # released) and its place in its site's list.
    before: dict[str, Callable[[], Any]] = {
        "audit": lambda: audit(
            c, principal, "coaching_request.create", "coaching_request", request["_id"], site_id
        )
    }
    if site_id is not None:
        lanes = {"site_bucket": site_requests(site_id)}
        before["place"] = lambda: listing.place(request, c.repositories.sequences, lanes)
    for kind, field in ((ACK, "acknowledge_by"), (CALLBACK, "call_back_by")):
        if request[field] is not None:
            before[kind] = lambda kind=kind, due=request[field]: add_deadline(c, request, kind, due)
    if held:
        hold = {
            "_id": request["_id"],
            "request_id": request["_id"],
            "due_at": request["held_until"],
        }
        before["hold"] = lambda: c.repositories.holds.insert(hold)
    together(c.storage, **before)
    recorded = [events.request_created(request, c.clock)] if site_id is not None else []
    stored, _ = c.repositories.requests.insert(request, recorded)
    metrics.REQUESTS.labels(request["kind"], request["status"], request["reason"]).inc()
    return view(stored)


def _repeated(c: Components, principal: Principal, latest: dict[str, Any], now: datetime):
    """A crisis repeat that does not page: recorded on the request it joins (its history and
    ``repeats``), answered with it and the emergency route. Never refused: should the record
    not land, the answer is the same."""
    request_id = latest["_id"]
    audit(
        c, principal, "coaching_request.repeat", "coaching_request", request_id, latest["site_id"]
    )
    metrics.CRISIS_REPEATS.inc()
    try:
        with c.locks(steps_lock(request_id)):
            current = c.repositories.requests.get(request_id) or latest
            current["repeats"] = int(current.get("repeats", 0)) + 1
            add_history(current, "repeated", principal.subject, now)
            return view(c.repositories.requests.save(current))
    except StaleWrite:
        log.warning("crisis repeat not recorded", extra={"request_id": request_id})
        return view(latest)


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
        "released_at",
        "unverified",
        "repeats",
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
def visible_request(c: Components, request_id: str, principal: Principal) -> dict[str, Any]:
    request = c.repositories.requests.get(request_id)
    if request is None:
        raise NotFound("coaching request")
    if principal.has_role("client"):
        if not principal.is_client_self(request["client_id"]):
            raise NotFound("coaching request")
    elif not principal.can_act_on_site(request["site_id"]) or not is_involved(
        c, principal, request
    ):
        raise NotFound("coaching request")
    return request


def is_involved(c: Components, principal: Principal, request: dict[str, Any]) -> bool:
    """Staff who may see a request: the site's coordinators, the client's therapist and the
    clinicians it was routed or escalated to."""
    if principal.holds_at(request["site_id"], *COORDINATING):
        return True
    mine = {x["_id"] for x in own_clinicians(c, principal)}
    if mine & set(request.get("notified") or []) or request.get("routed_to") in mine:
        return True
    client = c.repositories.client(request["client_id"]) or {}
    return client.get("therapist_id") in mine


def read(request_id: str, c: Components, principal: Principal) -> dict[str, Any]:
    request = visible_request(c, request_id, principal)
    audit(c, principal, "coaching_request.read", "coaching_request", request_id, request["site_id"])
    return view(request)


def list_requests(args: dict[str, Any], c: Components, principal: Principal):
    """A site's requests, those in hand first (oldest first), then the closed ones (in their
    list's buckets, oldest first; the cursor pages through those)."""
    site_id = args["site_id"]
    principal.require_site(site_id)
    if not principal.holds_at(site_id, *COORDINATING):  # a coordinator here, not elsewhere
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
    if not principal.holds_at(site_id, *COORDINATING):  # a clinician: the requests of theirs
        items = [r for r in items if is_involved(c, principal, r)]
    audit(c, principal, "coaching_request.list", "coaching_request_list", site_id, site_id)
    return [view(r) for r in items[: args["limit"]]], cursor
