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
from coaching.services.common import availability, aware, program_settings, site_settings, zone_of
from coaching.services.requests import ACK, CALLBACK, _history, _lock


def escalate_due(c: Components, limit: int = 200) -> int:
    """The timer: escalate each deadline that fell due; answers how many escalated."""
    now = c.clock.now()
    done = 0
    for entry in c.repositories.due_deadlines(limit):
        if aware(entry["due_at"]) > now:
            break  # sorted by due time: the rest is later
        with c.locks(_lock(entry["request_id"])):
            done += _escalate(c, entry, now)
    return done


def _escalate(c: Components, entry: dict[str, Any], now: datetime) -> int:
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
    level = int(request["escalations"].get(kind, 0)) + 1
    to = None
    if level == 1:
        _primary, backup, _within = rota.on_call(
            zone_of(c, request["site_id"]), *availability(c, request["site_id"]), now
        )
        if backup and backup not in request["notified"]:
            to = backup
        else:
            level = 2  # no backup to add: straight to the clinical lead
    request["escalations"][kind] = level
    if to:
        request["notified"].append(to)
    else:
        request["notify_clinical_lead"] = True
    _history(request, f"escalated_{kind}", None, now, level=level, to=to)
    c.repositories.requests.save(
        request, [events.request_escalated(request, kind, level, to, c.clock)]
    )
    metrics.ESCALATIONS.labels(kind, str(level)).inc()
    if level >= 2:
        c.repositories.deadlines.delete(entry["_id"])
    else:
        client = c.repositories.client(request["client_id"]) or {}
        minutes = (
            program_settings(c, client)["ack_minutes"]
            if kind == ACK
            else site_settings(c, request["site_id"])["callback_minutes"]
        )
        c.repositories.deadlines.save({**entry, "due_at": now + timedelta(minutes=minutes)})
    return 1
