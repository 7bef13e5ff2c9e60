"""What the use cases share: the read models, access, audit, a group's planned calendar."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from dbt_shared.auth import Principal
from dbt_shared.clock import aware
from dbt_shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from dbt_shared.vocabulary import COORDINATING
from skills_group import events
from skills_group.bootstrap import Components
from skills_group.domain import calendar

FIRST_SESSIONS_SHOWN = 8


# -- reading the read models ---------------------------------------------------------------------
def program_at(c: Components, program_id: str, site_id: str) -> dict[str, Any]:
    program = c.repositories.program(program_id)
    if program is None or program.get("site_id") != site_id:
        raise InvalidInput.field("program_id", "No such program at this site (yet).")
    return program


def zone_of(c: Components, site_id: str) -> str:
    site = c.repositories.site(site_id)
    if site is None:
        raise InvalidInput.field("site_id", "No such site (yet).")
    return site["timezone"]


def settings_of(c: Components, group: dict[str, Any]) -> dict[str, Any]:
    program = c.repositories.program(group["program_id"]) or {}
    return program.get("settings") or {}


def group_for(c: Components, group_id: str, principal: Principal) -> dict[str, Any]:
    group = c.repositories.groups.get(group_id)
    if group is None or not principal.can_act_on_site(group["site_id"]):
        raise NotFound("group")
    return group


def session_for(c: Components, session_id: str, principal: Principal) -> dict[str, Any]:
    session = c.repositories.sessions.get(session_id)
    if session is None or not principal.can_act_on_site(session["site_id"]):
        raise NotFound("session")
    return session


def is_facilitator_of(c: Components, group: dict[str, Any], principal: Principal) -> bool:
    for clinician_id in group["facilitator_ids"]:
        clinician = c.repositories.clinicians.get(clinician_id)
        if clinician and clinician.get("subject") == principal.subject:
            return True
    return False


def may_run(c: Components, group: dict[str, Any], principal: Principal) -> None:
    """Coordinators and operators of the site, or the group's own facilitators."""
    if principal.holds_at(group["site_id"], *COORDINATING) or is_facilitator_of(
        c, group, principal
    ):
        return
    raise Forbidden("Only this group's facilitators and the site's coordinators may do this.")


def record_audit(c, principal, action: str, object_type: str, object_id: str, site_id: str) -> None:
    c.repositories.audit.record(
        principal, action=action, object_type=object_type, object_id=object_id, site_id=site_id
    )


def check_facilitators(c: Components, site_id: str, ids: list[str]) -> None:
    for n, clinician_id in enumerate(ids):
        clinician = c.repositories.clinicians.get(clinician_id)
        if clinician is None or clinician.get("site_id") != site_id:
            raise InvalidInput.field(f"facilitator_ids[{n}]", "No such clinician at this site.")


def session_doc(group: dict[str, Any], slot: calendar.Slot, zone: str) -> dict[str, Any]:
    return {
        "_id": calendar.session_id(group["_id"], slot.index),
        "group_id": group["_id"],
        "site_id": group["site_id"],
        "program_id": group["program_id"],
        "index": slot.index,
        "cycle": slot.cycle,
        "date": slot.date.isoformat(),
        "local_start": group["start_time"],
        "starts_at": calendar.starts_at(slot.date, group["start_time"], zone),
        "duration_minutes": group["duration_minutes"],
        "module": slot.week.module,
        "module_week": slot.week.module_week,
        "is_entry_point": slot.week.is_entry_point,
        "status": slot.status,
        "room": group["room"],
        "facilitator_ids": list(group["facilitator_ids"]),
        "sequence": 0,
        "moved_by_hand": False,
    }


def plan_of(c: Components, group: dict[str, Any]) -> list[calendar.Slot]:
    return planned(group, closure_days(c, group["site_id"]), settings_of(c, group))


def closure_days(c: Components, site_id: str) -> set[date]:
    return {date.fromisoformat(x["date"]) for x in c.repositories.closures_of(site_id)}


def planned(
    group: dict[str, Any], closures: set[date], settings: dict[str, Any]
) -> list[calendar.Slot]:
    return calendar.plan(
        starts_on=date.fromisoformat(group["starts_on"]),
        weekday=group["weekday"],
        curriculum=group["curriculum"],
        cycles=group["cycles"],
        closures=closures,
        policy=settings.get("closure_policy", calendar.SHIFT),
    )


def clashes(
    c: Components, session: dict[str, Any], ignore_group: str | None = None
) -> list[dict[str, Any]]:
    """Every clash of ``session`` with the site's other sessions that day (index ``site_day``):
    the same room, or a facilitator in both, at overlapping times; a cancelled session clashes
    with nothing. ``ignore_group``'s own sessions are not counted (a group moving its own)."""
    found: list[dict[str, Any]] = []
    if session["status"] == calendar.CANCELLED:
        return found
    for other in c.repositories.sessions_on(session["site_id"], session["date"]):
        if other["group_id"] == ignore_group or other["status"] == calendar.CANCELLED:
            continue
        if not calendar.overlaps(
            session["starts_at"],
            session["duration_minutes"],
            aware(other["starts_at"]),
            other["duration_minutes"],
        ):
            continue
        base = {"date": session["date"], "index": session["index"], "session_id": other["_id"]}
        if other.get("room") == session.get("room"):
            found.append({**base, "kind": "room", "group_id": other["group_id"]})
        for clinician_id in sorted(set(session["facilitator_ids"]) & set(other["facilitator_ids"])):
            found.append(
                {
                    **base,
                    "kind": "facilitator",
                    "group_id": other["group_id"],
                    "facilitator_id": clinician_id,
                }
            )
    return found


def refuse_conflict(c: Components, session: dict[str, Any], ignore_group: str | None) -> None:
    """Refuse a session that overlaps another of the site's in the same room or with one of
    its facilitators (409 naming the session it clashes with)."""
    found = clashes(c, session, ignore_group)
    if found:
        raise Conflict(
            "Another session of the site is then in the same room or with the same facilitator.",
            kind="scheduling-conflict",
            conflicting_session_id=found[0]["session_id"],
        )


def group_view(group: dict[str, Any], sessions: list[dict[str, Any]] | None = None):
    view = {k: v for k, v in group.items() if not k.startswith("_") or k == "_id"}
    if sessions is not None:
        view["sessions"] = sessions
    return view


def has_started(session: dict[str, Any], now: datetime) -> bool:
    return aware(session["starts_at"]) <= now


def reconcile_closure(c: Components, site_id: str, day: date) -> int:
    """After the closure of ``day`` was added or removed: the site's groups whose plan it
    changes (a session that day, and under ``shift`` the later ones) are brought in line; the
    others' calendars are not read. Answers how many sessions changed.

    The plans are computed, not read: one read of the closures and one of each program, then a
    calendar read only per group the day touches (a site's groups accumulate; a day touches few).
    """
    now_closed = closure_days(c, site_id)
    other = now_closed ^ {day}
    settings: dict[str, dict[str, Any]] = {}
    changed = 0
    for group in c.repositories.groups_of(site_id):  # index: site_program
        if group["program_id"] not in settings:
            settings[group["program_id"]] = settings_of(c, group)
        plan = planned(group, now_closed, settings[group["program_id"]])
        if plan != planned(group, other, settings[group["program_id"]]):
            changed += reconcile(c, group, "closure", plan)
    return changed


def reconcile(
    c: Components, group: dict[str, Any], reason: str, plan: list[calendar.Slot] | None = None
) -> int:
    """Bring the group's sessions still to come in line with its plan (closures applied);
    each session that moves or is cancelled says so. Answers how many changed."""
    zone = zone_of(c, group["site_id"])
    now = c.clock.now()
    stored = {s["index"]: s for s in c.repositories.calendar(group["_id"])}
    changed = 0
    for slot in plan_of(c, group) if plan is None else plan:
        session = stored.get(slot.index)
        if session is None:
            added = session_doc(group, slot, zone)
            c.repositories.sessions.insert(added, [events.session_scheduled(added, c.clock)])
            continue
        if has_started(session, now) or session.get("moved_by_hand"):
            continue
        planned = session_doc(group, slot, zone)
        if planned["date"] == session["date"] and planned["status"] == session["status"]:
            continue
        previous = aware(session["starts_at"])
        session.update(
            date=planned["date"],
            starts_at=planned["starts_at"],
            status=calendar.RESCHEDULED
            if planned["status"] != calendar.CANCELLED and session["date"] != planned["date"]
            else planned["status"],
            sequence=session["sequence"] + 1,
        )
        c.repositories.sessions.save(
            session, [events.session_changed(session, previous, reason, c.clock)]
        )
        changed += 1
    return changed
