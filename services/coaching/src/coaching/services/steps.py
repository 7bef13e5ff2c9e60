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
from coaching.domain.requests import (
    ACK,
    CALLBACK,
    Acknowledged,
    CalledBack,
    Closed,
    CoachingRequest,
)
from coaching.services.common import acting_clinician, audit, aware, site_settings, zone_of
from coaching.services.requests import steps_lock, view, visible_request
from dbt_shared.auth import Principal
from dbt_shared.contracts import coaching as contract

#: What each step of a request is called in the audit trail, and the event it publishes.
STEPS = {
    Acknowledged: ("acknowledge", contract.REQUEST_ACKNOWLEDGED),
    CalledBack: ("call_back", contract.REQUEST_CALLED_BACK),
    Closed: ("close", contract.REQUEST_CLOSED),
}


def _step(c: Components, request_id: str, principal: Principal, take) -> dict[str, Any]:
    """Load the request under its lock, let ``take(request, by, now)`` take the step on the
    aggregate, audit it and save the state with its event."""
    with c.locks(steps_lock(request_id)):
        request = CoachingRequest(visible_request(c, request_id, principal))
        clinician = acting_clinician(c, principal, request.state["site_id"])
        take(request, clinician["_id"], c.clock.now())
        action, event_type = STEPS[type(request.events[-1])]
        site_id = request.state["site_id"]
        audit(c, principal, f"coaching_request.{action}", "coaching_request", request_id, site_id)
        stored = c.repositories.requests.save(
            request.state,
            [events.request_step(event_type, request.state, clinician["_id"], c.clock)],
        )
    return stored


def acknowledge(request_id: str, c: Components, principal: Principal) -> dict[str, Any]:
    stored = _step(c, request_id, principal, lambda r, by, now: r.acknowledge(by=by, now=now))
    c.repositories.deadlines.delete(f"{request_id}:{ACK}")
    _observe(stored, "acknowledged_at")
    return view(stored)


def call_back(request_id: str, c: Components, principal: Principal) -> dict[str, Any]:
    stored = _step(c, request_id, principal, lambda r, by, now: r.call_back(by=by, now=now))
    for kind in (ACK, CALLBACK):
        c.repositories.deadlines.delete(f"{request_id}:{kind}")
    _observe(stored, "called_back_at")
    return view(stored)


def close(request_id: str, body: dict[str, Any], c: Components, principal: Principal):
    def take(request: CoachingRequest, by: str, now) -> None:
        request.close(
            by=by, now=now, outcome=body["outcome"], duration_minutes=body["duration_minutes"]
        )

    stored = _step(c, request_id, principal, take)
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
