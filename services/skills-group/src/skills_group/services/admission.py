"""Use cases of rolling admission: placement, the waitlist, hand placement, graduation."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from dbt_shared import read_models
from dbt_shared.auth import Principal
from dbt_shared.clock import aware
from dbt_shared.errors import Conflict, InvalidInput, StaleWrite
from dbt_shared.ids import new_id
from skills_group import events, metrics
from skills_group.bootstrap import Components
from skills_group.domain import calendar, placement
from skills_group.domain.statuses import ACTIVE, ENROLLED, GRADUATED, PLACING, WAITING
from skills_group.services.common import (
    group_for,
    has_started,
    may_run,
    reconcile,
    record_audit,
    settings_of,
)

PLACEMENT_HORIZON_WEEKS = 12


# -- rolling admission ---------------------------------------------------------------------------
def on_client_admitted(data: dict[str, Any], c: Components) -> None:
    """An admitted client: placed at the next entry point with a seat that fits, or waiting.
    Stored first as ``placing``: a redelivery after a crash mid-way places them then."""
    client = c.repositories.clients.get(data["client_id"])  # index: _id
    if client is None:
        client, _ = read_models.admit(
            c.repositories.clients, data, availability=data["availability"], status=PLACING
        )
    if client["status"] == PLACING:  # a redelivery of a placed client changes nothing
        _place_or_wait(c, client)


def _span(group: dict[str, Any]) -> int:
    return len(calendar.curriculum_weeks(group["curriculum"])) * group["member_cycles"]


def seats_of(c: Components, group_id: str) -> list[placement.Seat]:
    return [
        placement.Seat(e["first_index"], e["until_index"]) for e in c.repositories.members(group_id)
    ]


def horizon(c: Components, group: dict[str, Any]) -> timedelta:
    """How far ahead rolling admission looks for a seat (the program's
    ``placement_horizon_weeks``, 12 by default: the next module boundary or two). A client with
    no seat that soon waits, and is placed when one frees."""
    weeks = int(settings_of(c, group).get("placement_horizon_weeks", PLACEMENT_HORIZON_WEEKS))
    return timedelta(weeks=weeks)


def seat_candidate(
    c: Components,
    group: dict[str, Any],
    now: datetime,
    first: dict | None = None,
    within: timedelta | None = None,
):
    """The group's next entry point from ``now`` (or ``first``) with a seat, starting
    ``within`` that time if given."""
    seats = seats_of(c, group["_id"])
    for session in c.repositories.calendar(group["_id"]):
        if not session["is_entry_point"] or session["status"] == calendar.CANCELLED:
            continue
        if within is not None and aware(session["starts_at"]) > now + within:
            return None
        if first is not None and session["index"] < first["index"]:
            continue
        if first is None and has_started(session, now):
            continue
        until = session["index"] + _span(group)
        if placement.free_from(seats, group["capacity"], session["index"], until):
            return placement.Candidate(
                group["_id"],
                session["_id"],
                session["index"],
                aware(session["starts_at"]),
                placement.occupancy(seats, session["index"]),
            )
        if first is not None:
            return None  # that entry point, and no other
    return None


def _place_or_wait(c: Components, client: dict[str, Any]) -> dict[str, Any] | None:
    now = c.clock.now()
    groups = c.repositories.groups_of(client["site_id"], client["program_id"])
    fitting = [
        g
        for g in groups
        if placement.fits(
            client["availability"], g["weekday"], g["start_time"], g["duration_minutes"]
        )
    ]
    for _attempt in range(5):
        chosen = placement.choose(
            x
            for x in (seat_candidate(c, g, now, within=horizon(c, g)) for g in fitting)
            if x is not None
        )
        if chosen is None:
            break
        enrollment = enroll_client(c, client, chosen, "rolling_admission")
        if enrollment is not None:
            return enrollment
    reason = (
        "no_group"
        if not groups
        else ("no_group_fits_availability" if not fitting else "no_free_seat")
    )
    for _attempt in range(5):
        if client["status"] == ENROLLED:
            return None  # placed meanwhile (by hand, or a seat freed)
        if client["status"] == WAITING and client.get("waitlist_reason") == reason:
            return None
        client.update(
            status=WAITING, waitlist_reason=reason, waiting_since=client.get("waiting_since") or now
        )
        try:
            c.repositories.clients.save(client, [events.client_waitlisted(client, reason, c.clock)])
            return None
        except StaleWrite:  # changed meanwhile: decide again on what it is now
            client = c.repositories.clients.get(client["_id"])
    return None


def _mark_enrolled(c: Components, client_id: str, enrollment_id: str) -> None:
    for _attempt in range(10):
        client = c.repositories.clients.get(client_id)
        client.update(status=ENROLLED, enrollment_id=enrollment_id, waitlist_reason=None)
        try:
            c.repositories.clients.save(client)
            return
        except StaleWrite:
            continue
    raise StaleWrite("client")


def enroll_client(
    c: Components,
    client: dict[str, Any],
    chosen: placement.Candidate,
    by: str,
    transferred_from: str | None = None,
):
    """Take the seat under the group's lock (re-checked there: capacity is never exceeded);
    ``None`` when another placement took it first. A member moved from another group names
    the membership they left (``transferred_from``)."""
    group = c.repositories.groups.get(chosen.group_id)
    with c.locks(f"placement/{chosen.group_id}"), c.locks(f"client/{client['_id']}"):
        # index: client: a client holds one seat at a time, however many placements race
        if any(e["status"] == ACTIVE for e in c.repositories.client_enrollments(client["_id"])):
            return None
        seats = seats_of(c, chosen.group_id)
        until = chosen.index + _span(group)
        if not placement.free_from(seats, group["capacity"], chosen.index, until):
            return None
        _extend_calendar(c, group, until)
        enrollment = {
            "_id": new_id(),
            "client_id": client["_id"],
            "group_id": group["_id"],
            "site_id": group["site_id"],
            "program_id": group["program_id"],
            "therapist_id": client.get("therapist_id"),
            "first_index": chosen.index,
            "until_index": until,
            "first_session_id": chosen.session_id,
            "status": ACTIVE,
            "placed_by": by,
            "enrolled_at": c.clock.now(),
            "at_risk_flagged": [],
            "counted_from": chosen.index,
        }
        if transferred_from:
            enrollment["transferred_from"] = transferred_from
        c.repositories.enrollments.insert(
            enrollment, [events.enrollment_created(enrollment, chosen.starts_at, c.clock)]
        )
    _mark_enrolled(c, client["_id"], enrollment["_id"])
    metrics.PLACEMENTS.labels(by).inc()
    return enrollment


def _extend_calendar(c: Components, group: dict[str, Any], until: int) -> None:
    """A member placed late in the calendar still gets every session of their passes: the
    group's calendar grows by whole cycles."""
    weeks = len(calendar.curriculum_weeks(group["curriculum"]))
    if until <= weeks * group["cycles"]:
        return
    group["cycles"] = -(-until // weeks)
    group.update(c.repositories.groups.save(group))
    reconcile(c, group, "reschedule")


def promote_waiting(c: Components, site_id: str, program_id: str) -> int:
    """A seat freed or a group added: the waiting clients, longest-waiting first, are placed
    where they fit. Answers how many were placed."""
    placed = 0
    for client in c.repositories.waiting(site_id, program_id):
        if _place_or_wait(c, client) is not None:
            placed += 1
    return placed


def enroll_by_hand(group_id: str, body: dict[str, Any], c: Components, principal: Principal):
    group = group_for(c, group_id, principal)
    may_run(c, group, principal)  # the site's coordinators, or this group's facilitators
    client = c.repositories.clients.get(body["client_id"])
    if client is None or client["site_id"] != group["site_id"]:
        raise InvalidInput.field("client_id", "No admitted client of this site has this id.")
    if client["status"] == ENROLLED:
        raise Conflict("The client is enrolled in a group already.")
    first = None
    if body.get("from_session_id"):
        first = c.repositories.sessions.get(body["from_session_id"])
        if first is None or first["group_id"] != group_id or not first["is_entry_point"]:
            raise InvalidInput.field("from_session_id", "Not an entry point of this group.")
    chosen = seat_candidate(c, group, c.clock.now(), first)
    enrollment = enroll_client(c, client, chosen, "hand") if chosen else None
    if enrollment is None:
        raise Conflict("The group is full at that entry point.", kind="group-full")
    record_audit(
        c, principal, "enrollment.create", "enrollment", enrollment["_id"], group["site_id"]
    )
    return enrollment


def list_enrollments(group_id: str, c: Components, principal: Principal):
    group = group_for(c, group_id, principal)
    record_audit(c, principal, "enrollment.list", "group", group_id, group["site_id"])
    return c.repositories.enrollments_of(group_id)


def waitlist(args: dict[str, Any], c: Components, principal: Principal):
    site_id = args["site_id"]
    principal.require_site(site_id)
    record_audit(c, principal, "waitlist.read", "waitlist", site_id, site_id)
    waiting, cursor = c.repositories.waiting_page(
        site_id, args.get("program_id"), limit=args.get("limit", 50), cursor=args.get("cursor")
    )
    return [
        {
            "client_id": w["_id"],
            "program_id": w["program_id"],
            "waiting_since": w.get("waiting_since"),
            "reason": w.get("waitlist_reason"),
        }
        for w in waiting
    ], cursor


# -- graduation (the timer) ----------------------------------------------------------------------
def graduate_due(c: Components) -> int:
    """Members whose last session has started have completed their passes: graduated, the
    seat free. Reads the active enrollments only (who holds a seat now)."""
    now = c.clock.now()
    done = 0
    for enrollment in c.repositories.enrollments.find({"status": ACTIVE}):  # index: status
        last = c.repositories.sessions.get(
            calendar.session_id(enrollment["group_id"], enrollment["until_index"] - 1)
        )
        if last is None or not has_started(last, now):
            continue
        enrollment.update(status=GRADUATED, ended_at=now)
        c.repositories.enrollments.save(enrollment, [events.graduated(enrollment, c.clock)])
        promote_waiting(c, enrollment["site_id"], enrollment["program_id"])
        done += 1
    return done


def on_clinician_registered(data: dict[str, Any], c: Components) -> None:
    c.repositories.clinicians.register(data)


def on_clinician_deactivated(data: dict[str, Any], c: Components) -> None:
    """A clinician left: marked in the read model (their calendar feeds stop answering)."""
    c.repositories.clinicians.deactivate(data)
