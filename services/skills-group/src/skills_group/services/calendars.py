"""Use cases of groups and their calendars: schedule, change, closures, one occurrence."""

from __future__ import annotations

from datetime import UTC
from typing import Any
from zoneinfo import ZoneInfo

from dbt_shared.auth import Principal
from dbt_shared.clock import aware
from dbt_shared.errors import Conflict
from dbt_shared.ids import new_id
from dbt_shared.pagination import decode_cursor, encode_cursor
from skills_group import events
from skills_group.bootstrap import Components
from skills_group.domain import calendar
from skills_group.services.admission import promote_waiting
from skills_group.services.common import (
    FIRST_SESSIONS_SHOWN,
    check_facilitators,
    group_for,
    group_view,
    has_started,
    may_run,
    plan_of,
    program_at,
    reconcile_closure,
    refuse_conflict,
    session_doc,
    session_for,
    zone_of,
)


# -- groups and calendars ------------------------------------------------------------------------
def create_group(body: dict[str, Any], c: Components, principal: Principal) -> dict[str, Any]:
    site_id = body["site_id"]
    principal.require_site(site_id)
    program = program_at(c, body["program_id"], site_id)
    zone = zone_of(c, site_id)
    check_facilitators(c, site_id, body["facilitator_ids"])
    settings = program.get("settings") or {}
    group = {
        "_id": new_id(),
        "site_id": site_id,
        "program_id": program["_id"],
        "name": body["name"],
        "weekday": body["weekday"],
        "start_time": body["start_time"],
        "duration_minutes": body["duration_minutes"],
        "room": body["room"],
        "facilitator_ids": list(body["facilitator_ids"]),
        "co_leader_missing": len(body["facilitator_ids"]) < 2,
        "starts_on": body["starts_on"].isoformat(),
        "cycles": body["cycles"],
        "member_cycles": body["cycles"],
        "curriculum": settings.get("curriculum", "M2 DT6 M2 ER6 M2 IE6"),
        "capacity": body.get("capacity") or int(settings.get("group_capacity", 8)),
        "created_at": c.clock.now(),
    }
    sessions = [session_doc(group, slot, zone) for slot in plan_of(c, group)]
    for session in sessions:
        refuse_conflict(c, session, ignore_group=None)
    # The group carries its calendar's event (every session in it); the sessions, one write.
    c.repositories.groups.insert(group, [events.group_scheduled(group, sessions, c.clock)])
    c.repositories.sessions.insert_many(sessions)
    promote_waiting(c, site_id, program["_id"])
    return group_view(group, sessions[:FIRST_SESSIONS_SHOWN])


def get_group(group_id: str, c: Components, principal: Principal) -> dict[str, Any]:
    group = group_for(c, group_id, principal)
    return group_view(group, c.repositories.calendar(group_id)[:FIRST_SESSIONS_SHOWN])


def list_groups(
    args: dict[str, Any], c: Components, principal: Principal
) -> tuple[list[dict], str | None]:
    """One site's groups, or (no site named) those of every site of the caller's, site by site
    in one answer: a page listing them makes one call, not one per site. A page holds at most
    ``limit`` groups; its cursor names the site and the group it ended at (a keyset: sites in
    order, each site's groups in ``_id`` order, ``Repositories.groups_page``)."""
    limit = args.get("limit", 200)
    if args.get("site_id"):
        principal.require_site(args["site_id"])
        sites = [args["site_id"]]
    else:
        allowed = principal.site_filter()
        sites = sorted(allowed if allowed is not None else c.repositories.site_ids())
    # any string of the pattern is a place: "<site> <group>", or a site alone (its first group)
    cursor = args.get("cursor")
    after_site, _, after_id = decode_cursor(cursor).partition(" ") if cursor else ("", "", "")
    found: list[dict] = []
    for site_id in sites:  # one equality query per site (no $in: FerretDB)
        if site_id < after_site:
            continue
        after = after_id if site_id == after_site else None
        found.extend(
            c.repositories.groups_page(
                site_id, args.get("program_id"), after, limit + 1 - len(found)
            )
        )
        if len(found) > limit:
            break
    more, found = len(found) > limit, found[:limit]
    last = found[-1] if more else None
    return [group_view(g) for g in found], (
        encode_cursor(f"{last['site_id']} {last['_id']}") if last else None
    )


def list_sessions(group_id: str, args: dict[str, Any], c: Components, principal: Principal):
    group_for(c, group_id, principal)
    start, end = args.get("from"), args.get("to")
    return [
        s
        for s in c.repositories.calendar(group_id)
        if (start is None or s["date"] >= start.isoformat())
        and (end is None or s["date"] <= end.isoformat())
    ]


def change_group(group_id: str, body: dict[str, Any], c: Components, principal: Principal):
    """Room, facilitators or capacity; the sessions still to come follow the new room and
    facilitators (each one's sequence rises), checked for conflicts first."""
    group = group_for(c, group_id, principal)
    may_run(c, group, principal)
    if "facilitator_ids" in body:
        check_facilitators(c, group["site_id"], body["facilitator_ids"])
        group["facilitator_ids"] = list(body["facilitator_ids"])
        group["co_leader_missing"] = len(group["facilitator_ids"]) < 2
    if "room" in body:
        group["room"] = body["room"]
    if "capacity" in body:
        group["capacity"] = body["capacity"]
    now = c.clock.now()
    changed = []
    for session in c.repositories.calendar(group_id):
        if has_started(session, now) or session["status"] == calendar.CANCELLED:
            continue
        new = {**session, "room": group["room"], "facilitator_ids": group["facilitator_ids"]}
        if new["room"] != session["room"] or new["facilitator_ids"] != session["facilitator_ids"]:
            refuse_conflict(c, new, ignore_group=group_id)
            changed.append(new)
    stored = c.repositories.groups.save(group)
    for session in changed:
        session["sequence"] += 1
        c.repositories.sessions.save(
            session, [events.session_changed(session, None, "reschedule", c.clock)]
        )
    if "capacity" in body:
        promote_waiting(c, group["site_id"], group["program_id"])
    return group_view(stored)


def add_closure(site_id: str, body: dict[str, Any], c: Components, principal: Principal):
    """A day the site is closed: each group's session that day is skipped or it and every
    later one shift a week, as the program's ``closure_policy`` says."""
    principal.require_site(site_id)
    zone_of(c, site_id)
    day = body["date"].isoformat()
    closure = {"_id": f"{site_id}:{day}", "site_id": site_id, "date": day, "reason": body["reason"]}
    c.repositories.closures.insert(closure)
    changed = reconcile_closure(c, site_id, body["date"])
    return {**closure, "sessions_changed": changed}


def reschedule_session(session_id: str, body: dict[str, Any], c: Components, principal: Principal):
    session = session_for(c, session_id, principal)
    group = group_for(c, session["group_id"], principal)
    may_run(c, group, principal)
    if has_started(session, c.clock.now()):
        raise Conflict("The session has started; record attendance instead.")
    previous = aware(session["starts_at"])
    new = dict(session)
    if "starts_at" in body:
        moment = aware(body["starts_at"]).astimezone(UTC)
        local = moment.astimezone(ZoneInfo(zone_of(c, session["site_id"])))
        new.update(
            starts_at=moment, date=local.date().isoformat(), local_start=local.strftime("%H:%M")
        )
        new.update(status=calendar.RESCHEDULED, moved_by_hand=True)
    if "room" in body:
        new["room"] = body["room"]
    refuse_conflict(c, new, ignore_group=session["group_id"])
    new["sequence"] = session["sequence"] + 1
    return c.repositories.sessions.save(
        new, [events.session_changed(new, previous, "reschedule", c.clock)]
    )


def cancel_session(session_id: str, body: dict[str, Any], c: Components, principal: Principal):
    session = session_for(c, session_id, principal)
    group = group_for(c, session["group_id"], principal)
    may_run(c, group, principal)
    if session["status"] == calendar.CANCELLED:
        return session
    if has_started(session, c.clock.now()):
        raise Conflict("The session has started; it cannot be cancelled.")
    session.update(status=calendar.CANCELLED, moved_by_hand=True, cancel_reason=body["reason"])
    session["sequence"] += 1
    return c.repositories.sessions.save(
        session, [events.session_changed(session, None, "cancellation", c.clock)]
    )
