"""The deadlines of coaching requests: each open acknowledgement or call-back deadline is a
document in ``request_deadlines`` (only what is pending); the timer escalates what fell due,
first to the backup on call, then to the site's clinical lead, under the request's lock. The
request records the level each deadline reached, so a restart neither loses a deadline nor
fires one twice."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from coaching import events, metrics
from coaching.bootstrap import Components
from coaching.domain import rota
from coaching.domain.requests import ACK, CALLBACK, add_history
from coaching.services.common import availability, aware, program_settings, site_settings, zone_of
from coaching.services.requests import steps_lock


def escalate_due(c: Components, limit: int = 200) -> int:
    """The timer: escalate each deadline that fell due; answers how many escalated."""
    now = c.clock.now()
    done = 0
    for entry in c.repositories.due_deadlines(limit):
        if aware(entry["due_at"]) > now:
            break  # sorted by due time: the rest is later
        with c.locks(steps_lock(entry["request_id"])):
            # Read again under the lock: another worker may have escalated and moved it.
            current = c.repositories.deadlines.get(entry["_id"])
            if current is not None and aware(current["due_at"]) <= now:
                done += _escalate(c, current, now)
    return done


def _minutes(c: Components, request: dict[str, Any], kind: str) -> int:
    if kind == ACK:
        client = c.repositories.client(request["client_id"]) or {}
        return program_settings(c, client)["ack_minutes"]
    return site_settings(c, request["site_id"])["callback_minutes"]


def _next_on_call(c: Components, request: dict[str, Any], now: datetime) -> str | None:
    """Who is on call now and not reached yet: the backup, else the primary."""
    try:
        zone = zone_of(c, request["site_id"])
    except Exception:  # the site unknown here: nobody on call to add
        return None
    primary, backup, _within = rota.on_call(zone, *availability(c, request["site_id"]), now)
    for candidate in (backup, primary):
        if candidate and candidate not in request["notified"]:
            return candidate
    return None


def _escalate(c: Components, entry: dict[str, Any], now: datetime) -> int:
    """Fire the level the deadline waits for (``level``: 1 the next clinician on call, 2 the
    clinical lead). A level the request shows as reached already (a worker died between the
    request's write and the deadline's) is not fired again: the deadline just moves on."""
    request = c.repositories.requests.get(entry["request_id"])
    kind = entry["kind"]
    answered = (
        request is None
        or (kind == ACK and request["status"] != "open")
        or (kind == CALLBACK and request["status"] not in ("open", "acknowledged"))
    )
    if answered:
        c.repositories.deadlines.delete(entry["_id"])
        return 0
    waited_for = int(entry.get("level", 1))
    reached = int(request["escalations"].get(kind, 0))
    fired = 0
    if reached < waited_for:
        to = _next_on_call(c, request, now) if waited_for == 1 else None
        level = 1 if to else 2
        if level == 2 and request.get("notify_clinical_lead"):
            # The lead has it already (the other deadline, or nobody was on call): recorded,
            # not announced twice.
            request["escalations"][kind] = level
            add_history(request, f"escalated_{kind}", None, now, level=level, to=None)
            c.repositories.requests.save(request)
        else:
            request["escalations"][kind] = level
            if to:
                request["notified"].append(to)
            else:
                request["notify_clinical_lead"] = True
            add_history(request, f"escalated_{kind}", None, now, level=level, to=to)
            c.repositories.requests.save(
                request, [events.request_escalated(request, kind, level, to, c.clock)]
            )
            metrics.ESCALATIONS.labels(kind, str(level)).inc()
            fired = 1
        if reached == 0:  # the deadline passed unanswered (its first escalation): missed
            metrics.DEADLINES_MISSED.labels(kind, metrics.path_of(request)).inc()
        if kind == ACK and reached == 0:  # its acknowledgement deadline passed: missed
            c.repositories.count_missed_ack(request["site_id"], now, request)
        reached = level
    if reached >= 2:
        c.repositories.deadlines.delete(entry["_id"])
    else:
        due = now + timedelta(minutes=_minutes(c, request, kind))
        c.repositories.deadlines.save({**entry, "level": reached + 1, "due_at": due})
    return fired
