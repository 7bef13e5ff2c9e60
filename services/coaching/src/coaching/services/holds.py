"""The end of the 24-hour rule: a request held for 24 hours after self-harm is released when its
hold ends. Each hold not released yet is a document of ``request_holds`` (written before its
request, holding only what is pending); the timer releases what fell due under the request's
lock: the request becomes an open one, routed as a new one at that moment (the therapist on
call, else the primary, the backup, the clinical lead) with its acknowledgement and call-back
deadlines, and ``coaching.request.released.v1`` tells whom to reach. The client's request shows
``released_at`` and its history. Self-harm recorded again meanwhile holds it on, to 24 hours
after that."""

from __future__ import annotations

from datetime import datetime, timedelta

from coaching import events, metrics
from coaching.bootstrap import Components
from coaching.domain.requests import ACK, CALLBACK, HELD, HOLD, add_history
from coaching.services.common import aware, program_settings, safety_of, site_settings
from coaching.services.requests import (
    add_deadline,
    route_request,
    steps_lock,
)


def release_due(c: Components, limit: int = 200) -> int:
    """The timer: release each held request whose hold ended; answers how many it released."""
    now = c.clock.now()
    done = 0
    for entry in c.repositories.due_holds(limit):
        if aware(entry["due_at"]) > now:
            break  # sorted by due time: the rest is later
        with c.locks(steps_lock(entry["request_id"])):
            # Read again under the lock: another worker may have released it already.
            current = c.repositories.holds.get(entry["_id"])
            if current is not None and aware(current["due_at"]) <= now:
                done += _release(c, current, now)
    return done


def _release(c: Components, entry: dict, now: datetime) -> int:
    request = c.repositories.requests.get(entry["request_id"])
    if request is None or request["status"] != HELD:
        # Answered while held (a clinician acknowledged or called back), or its request never
        # got written: nothing to release.
        c.repositories.holds.delete(entry["_id"])
        return 0
    client = c.repositories.client(request["client_id"]) or {"_id": request["client_id"]}
    rules = program_settings(c, client)
    self_harm_at = safety_of(c, client)["self_harm_at"]
    if rules["twenty_four_hour_rule"] and self_harm_at and now < self_harm_at + HOLD:
        # Self-harm recorded again during the hold: the rule runs on from that record.
        until = self_harm_at + HOLD
        request["held_until"] = until
        add_history(request, "held_on", None, now)
        c.repositories.holds.save({**entry, "due_at": until})
        c.repositories.requests.save(request)
        return 0
    settings = site_settings(c, request["site_id"])
    to, reason = route_request(c, client, request["site_id"], now)
    request.update(
        status="open",
        active=True,
        released_at=now,
        routed_to=to,
        notified=list(dict.fromkeys([*request["notified"], *([to] if to else [])])),
        notify_clinical_lead=to is None,
        acknowledge_by=now + timedelta(minutes=rules["ack_minutes"]),
        call_back_by=now + timedelta(minutes=settings["callback_minutes"]),
        reason=reason,
    )
    add_history(request, "released", None, now, notified=[to] if to else [])
    add_deadline(c, request, ACK, request["acknowledge_by"])
    add_deadline(c, request, CALLBACK, request["call_back_by"])
    released = {**request, "notified": [to] if to else []}  # whom to reach now
    c.repositories.requests.save(request, [events.request_released(released, c.clock)])
    c.repositories.holds.delete(entry["_id"])
    metrics.HOLDS_RELEASED.inc()
    return 1
