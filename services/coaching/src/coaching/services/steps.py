"""The steps of a coaching request after it was made: acknowledgement, call-back, closure
(each by a clinician of the site, under the request's lock, audited before its write); a closed
request is a coaching contact that counts toward the load of the clinician who closed it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from coaching import events, metrics
from coaching.bootstrap import Components
from coaching.domain import relationship
from coaching.domain.requests import ACK, ACTIVE_STATUSES, CALLBACK, HELD
from coaching.services.common import acting_clinician, audit, aware, site_settings, zone_of
from coaching.services.requests import (
    add_history,
    steps_lock,
    view,
    visible_request,
)
from dbt_shared.auth import Principal
from dbt_shared.contracts import coaching as contract
from dbt_shared.errors import Conflict


def _step(c: Components, request_id: str, principal: Principal, change) -> dict[str, Any]:
    with c.locks(steps_lock(request_id)):
        request = visible_request(c, request_id, principal)
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
        add_history(request, "acknowledged", by, now)
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
        add_history(request, "called_back", by, now)
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
        add_history(request, "closed", by, now, outcome=body["outcome"])
        return "close", contract.REQUEST_CLOSED

    stored = _step(c, request_id, principal, change)
    for kind in (ACK, CALLBACK):
        c.repositories.deadlines.delete(f"{request_id}:{kind}")
    _record_contact(c, stored)
    return view(stored)


def _observe(request: dict[str, Any], field: str) -> None:
    seconds = (aware(request[field]) - aware(request["created_at"])).total_seconds()
    path = metrics.path_of(request)
    metrics.RESPONSE_SECONDS.labels(field.removesuffix("_at"), path).observe(max(seconds, 0.0))


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
            # the local month: a site's contacts of a month, for the after-hours figures
            "month": started.astimezone(ZoneInfo(zone)).strftime("%Y-%m"),
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
