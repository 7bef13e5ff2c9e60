"""Use cases of a group's facilitators beyond one session: a calendar previewed before it is
saved (conflicts and closures named, nothing written), a site's closures (what each did to a
group's calendar) and undoing one, removing or moving a member by hand, who waits for a group.

A reason typed for a removal or a move may be health data ("admitted to hospital"): sealed at
rest like attendance reasons; events carry codes only (``removed``, a transfer's ids).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from dbt_shared.auth import Principal
from dbt_shared.clock import aware
from dbt_shared.errors import Conflict, InvalidInput, NotFound
from dbt_shared.vocabulary import COORDINATING
from skills_group import events, metrics
from skills_group.bootstrap import Components
from skills_group.domain import calendar, closures, placement
from skills_group.domain.statuses import ACTIVE, REMOVED, TRANSFERRED
from skills_group.services.admission import enroll_client, promote_waiting, seat_candidate
from skills_group.services.common import (
    check_facilitators,
    clashes,
    group_for,
    may_run,
    plan_of,
    program_at,
    reconcile_closure,
    record_audit,
    session_doc,
    settings_of,
    zone_of,
)

NOTE_FIELD = "end_note"


# -- a calendar before it is saved ---------------------------------------------------------------
def preview_group(body: dict[str, Any], c: Components, principal: Principal) -> dict[str, Any]:
    """The calendar ``create_group`` would make from ``body``, every session, with what would
    refuse or change it: each clash of room or facilitator with another group's session (the
    site's sessions of that day, index ``site_day``) and each closure met. Writes nothing."""
    site_id = body["site_id"]
    principal.require_site(site_id)
    program = program_at(c, body["program_id"], site_id)
    zone = zone_of(c, site_id)
    check_facilitators(c, site_id, body["facilitator_ids"])
    settings = program.get("settings") or {}
    group = {
        "_id": "preview",
        "site_id": site_id,
        "program_id": program["_id"],
        "weekday": body["weekday"],
        "start_time": body["start_time"],
        "duration_minutes": body["duration_minutes"],
        "room": body["room"],
        "facilitator_ids": list(body["facilitator_ids"]),
        "starts_on": body["starts_on"].isoformat(),
        "cycles": body["cycles"],
        "curriculum": settings.get("curriculum", "M2 DT6 M2 ER6 M2 IE6"),
    }
    sessions = [session_doc(group, slot, zone) for slot in plan_of(c, group)]
    conflicts = [clash for s in sessions for clash in clashes(c, s)]
    met = _closure_effects(c, group)
    for s in sessions:
        s.pop("_id")
    return {
        "curriculum": group["curriculum"],
        "capacity": body.get("capacity") or int(settings.get("group_capacity", 8)),
        "sessions": sessions,
        "conflicts": conflicts,
        "closures": met,
    }


def _closure_effects(c: Components, group: dict[str, Any]) -> list[dict[str, Any]]:
    stored = {x["date"]: x for x in c.repositories.closures_of(group["site_id"])}  # site_closures
    met = closures.effects(
        starts_on=date.fromisoformat(group["starts_on"]),
        weekday=group["weekday"],
        curriculum=group["curriculum"],
        cycles=group["cycles"],
        closures={date.fromisoformat(d) for d in stored},
        policy=settings_of(c, group).get("closure_policy", calendar.SHIFT),
    )
    return [
        {
            "date": e.closed_on.isoformat(),
            "reason": stored[e.closed_on.isoformat()]["reason"],
            "effect": e.effect,
            "index": e.index,
        }
        for e in met
    ]


# -- a site's closures ---------------------------------------------------------------------------
def site_closures(site_id: str, args: dict[str, Any], c: Components, principal: Principal):
    """The site's closure days; with ``group_id``, each says what it did to that group's
    calendar (``effect``: shifted or skipped, and the session it met), or ``null``."""
    principal.require_site(site_id)
    found = c.repositories.closures_of(site_id)  # index: site_closures
    effects: dict[str, dict[str, Any]] = {}
    if args.get("group_id"):
        group = group_for(c, args["group_id"], principal)
        if group["site_id"] != site_id:  # as any group the caller cannot reach here
            raise NotFound("group")
        effects = {e["date"]: e for e in _closure_effects(c, group)}
    out = []
    for x in found:
        met = effects.get(x["date"])
        session_id = calendar.session_id(args["group_id"], met["index"]) if met else None
        out.append(
            {
                "site_id": site_id,
                "date": x["date"],
                "reason": x["reason"],
                "effect": met["effect"] if met else None,
                "session_id": session_id,
            }
        )
    return out


def remove_closure(site_id: str, day: date, c: Components, principal: Principal):
    """Undo a closure: every group's sessions still to come go back to the plan without it,
    each moved one saying so (``skills.session.rescheduled.v1``: notifications re-times its
    reminders). Sessions moved by hand or already started stay as they are."""
    principal.require_site(site_id)
    if not principal.holds_at(site_id, *COORDINATING):
        raise NotFound("closure")  # as the closures' other writes: coordinators of the site
    closure_id = f"{site_id}:{day.isoformat()}"
    if c.repositories.closures.get(closure_id) is None:  # index: _id
        raise NotFound("closure")
    c.repositories.closures.delete(closure_id)
    changed = reconcile_closure(c, site_id, day)
    record_audit(c, principal, "closure.remove", "closure", closure_id, site_id)
    return {"site_id": site_id, "date": day.isoformat(), "sessions_changed": changed}


# -- members by hand -----------------------------------------------------------------------------
def _membership(c: Components, enrollment_id: str, principal: Principal) -> dict[str, Any]:
    enrollment = c.repositories.enrollments.get(enrollment_id)  # index: _id
    if enrollment is None or not principal.can_act_on_site(enrollment["site_id"]):
        raise NotFound("enrollment")
    return enrollment


def _end(c, enrollment, group, status, reason, principal, raised) -> dict[str, Any]:
    """End an active membership from the next session not yet started (its seat is free from
    there): its sealed note, who ended it, and the event given."""
    if enrollment["status"] != ACTIVE:
        raise Conflict("The client is no longer a member of this group.")
    now = c.clock.now()
    upcoming = [
        s["index"]
        for s in c.repositories.calendar(group["_id"])  # index: group_calendar
        if aware(s["starts_at"]) > now and s["index"] >= enrollment["first_index"]
    ]
    until = min([*upcoming, enrollment["until_index"]])
    enrollment.update(
        status=status,
        discharge_reason=status,
        planned_until_index=enrollment["until_index"],
        until_index=max(until, enrollment["first_index"]),
        ended_at=now,
        ended_by=principal.subject,
        **{NOTE_FIELD: c.cipher.encrypt(reason, record_id=enrollment["_id"], field=NOTE_FIELD)},
    )
    return c.repositories.enrollments.save(enrollment, raised)


def remove_member(enrollment_id: str, body: dict[str, Any], c: Components, principal: Principal):
    """A member taken out of the group by hand (with a reason): their seat is free from the
    next session, the longest-waiting client who fits is placed, and notifications cancels
    their reminders (``skills.client.discharged.v1``, reason ``removed``)."""
    enrollment = _membership(c, enrollment_id, principal)
    group = group_for(c, enrollment["group_id"], principal)
    may_run(c, group, principal)
    with c.locks(f"placement/{group['_id']}"):
        stored = _end(
            c,
            enrollment,
            group,
            REMOVED,
            body["reason"],
            principal,
            [events.discharged({**enrollment, "status": REMOVED}, REMOVED, c.clock)],
        )
    metrics.DISCHARGES.labels(REMOVED).inc()
    record_audit(c, principal, "enrollment.remove", "enrollment", enrollment_id, group["site_id"])
    promote_waiting(c, group["site_id"], group["program_id"])
    return _shown(c, stored)


def transfer_member(enrollment_id: str, body: dict[str, Any], c: Components, principal: Principal):
    """Move a member to another group of the site's program, at its next entry point with a
    seat (or ``from_session_id``); 409 and nothing changed when it has none. The old
    membership ends ``transferred`` and the new one's event names it
    (``transferred_from_enrollment_id``): notifications moves the reminders to the new group."""
    enrollment = _membership(c, enrollment_id, principal)
    source = group_for(c, enrollment["group_id"], principal)
    may_run(c, source, principal)
    target = c.repositories.groups.get(body["group_id"])  # index: _id
    if (
        target is None
        or target["_id"] == source["_id"]
        or target["site_id"] != source["site_id"]
        or target["program_id"] != source["program_id"]
    ):
        raise InvalidInput.field("group_id", "Not another group of this site's program.")
    if enrollment["status"] != ACTIVE:
        raise Conflict("The client is no longer a member of this group.")
    first = None
    if body.get("from_session_id"):
        first = c.repositories.sessions.get(body["from_session_id"])
        if first is None or first["group_id"] != target["_id"] or not first["is_entry_point"]:
            raise InvalidInput.field("from_session_id", "Not an entry point of that group.")
    chosen = seat_candidate(c, target, c.clock.now(), first)
    if chosen is None:
        raise Conflict("The group is full at that entry point.", kind="group-full")
    with c.locks(f"placement/{source['_id']}"):
        ended = _end(c, enrollment, source, TRANSFERRED, body["reason"], principal, [])
    client = c.repositories.clients.get(enrollment["client_id"])  # index: _id
    moved = (
        None
        if client is None
        else enroll_client(c, client, chosen, "hand", transferred_from=enrollment_id)
    )
    if moved is None:  # the seat went meanwhile: the member stays where they were
        ended.update(
            status=ACTIVE,
            until_index=ended["planned_until_index"],
            discharge_reason=None,
            ended_at=None,
        )
        c.repositories.enrollments.save(ended)
        raise Conflict("The group is full at that entry point.", kind="group-full")
    record_audit(
        c, principal, "enrollment.transfer", "enrollment", enrollment_id, source["site_id"]
    )
    promote_waiting(c, source["site_id"], source["program_id"])
    return moved


def _shown(c: Components, enrollment: dict[str, Any]) -> dict[str, Any]:
    note = enrollment.get(NOTE_FIELD)
    if note:
        note = c.cipher.decrypt(note, record_id=enrollment["_id"], field=NOTE_FIELD)
    return {**enrollment, NOTE_FIELD: note}


def group_waitlist(group_id: str, args: dict[str, Any], c: Components, principal: Principal):
    """A page of who waits at the site for the group's program, longest first, and whether
    each one's availability fits the group's weekly slot (index ``site_waiting``), with the
    next page's cursor."""
    group = group_for(c, group_id, principal)
    may_run(c, group, principal)
    record_audit(c, principal, "waitlist.read", "group", group_id, group["site_id"])
    waiting, cursor = c.repositories.waiting_page(
        group["site_id"],
        group["program_id"],
        limit=args.get("limit", 50),
        cursor=args.get("cursor"),
    )
    return [
        {
            "client_id": w["_id"],
            "program_id": w["program_id"],
            "waiting_since": w.get("waiting_since"),
            "reason": w.get("waitlist_reason"),
            "fits": placement.fits(
                w.get("availability") or [],
                group["weekday"],
                group["start_time"],
                group["duration_minutes"],
            ),
        }
        for w in waiting
    ], cursor
