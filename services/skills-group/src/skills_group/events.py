"""The events skills-group records (contracts in ``dbt_shared.contracts.skills``, ids and codes
only) and the intake events it consumes (sites, programs, clinicians, admitted clients)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dbt_shared.clock import Clock
from dbt_shared.contracts import intake, skills
from dbt_shared.events.catalog import Catalog
from dbt_shared.events.envelope import Event, new_event
from skills_group.domain.attendance import STATUSES

SERVICE = "skills-group"
# The event types it publishes and consumes (their topics are created when the worker starts).
CATALOG = Catalog.of(intake, skills)


def _event(type_: str, key: str, subject: str, data: dict[str, Any], clock: Clock) -> Event:
    return new_event(
        SERVICE, type_, key=key, subject=subject, data=data, clock=clock, catalog=CATALOG
    )


def _at(moment: datetime) -> str:
    return moment.isoformat()


def enrollment_created(e: dict[str, Any], first_starts_at: datetime, clock: Clock) -> Event:
    return _event(
        skills.ENROLLMENT_CREATED,
        e["client_id"],
        f"enrollments/{e['_id']}",
        {
            "enrollment_id": e["_id"],
            "client_id": e["client_id"],
            "group_id": e["group_id"],
            "site_id": e["site_id"],
            "program_id": e["program_id"],
            "first_session_id": e["first_session_id"],
            "first_session_starts_at": _at(first_starts_at),
            "placed_by": e["placed_by"],
            "enrolled_at": _at(e["enrolled_at"]),
            "transferred_from_enrollment_id": e.get("transferred_from"),
        },
        clock,
    )


def client_waitlisted(client: dict[str, Any], reason: str, clock: Clock) -> Event:
    return _event(
        skills.CLIENT_WAITLISTED,
        client["_id"],
        f"clients/{client['_id']}",
        {
            "client_id": client["_id"],
            "site_id": client["site_id"],
            "program_id": client["program_id"],
            "reason": reason,
            "waitlisted_at": _at(clock.now()),
        },
        clock,
    )


def _membership(e: dict[str, Any]) -> dict[str, Any]:
    return {
        "enrollment_id": e["_id"],
        "client_id": e["client_id"],
        "group_id": e["group_id"],
        "site_id": e["site_id"],
    }


def at_risk(e: dict[str, Any], run: int, limit: int, session_id: str, clock: Clock) -> Event:
    return _event(
        skills.ATTENDANCE_AT_RISK,
        e["client_id"],
        f"enrollments/{e['_id']}",
        {
            **_membership(e),
            "therapist_id": e.get("therapist_id"),
            "consecutive_misses": run,
            "miss_limit": limit,
            "session_id": session_id,
            "flagged_at": _at(clock.now()),
        },
        clock,
    )


def discharged(e: dict[str, Any], reason: str, clock: Clock) -> Event:
    return _event(
        skills.CLIENT_DISCHARGED,
        e["client_id"],
        f"enrollments/{e['_id']}",
        {
            **_membership(e),
            "therapist_id": e.get("therapist_id"),
            "reason": reason,
            "discharged_at": _at(clock.now()),
        },
        clock,
    )


def graduated(e: dict[str, Any], clock: Clock) -> Event:
    return _event(
        skills.CLIENT_GRADUATED,
        e["client_id"],
        f"enrollments/{e['_id']}",
        {**_membership(e), "graduated_at": _at(clock.now())},
        clock,
    )


def _session_facts(session: dict[str, Any]) -> dict[str, Any]:
    """What every session event says of its session: which, where and when (no one's name)."""
    return {
        "session_id": session["_id"],
        "group_id": session["group_id"],
        "site_id": session["site_id"],
        "starts_at": _at(session["starts_at"]),
        "room": session.get("room"),
        "module": session["module"],
        "sequence": session["sequence"],
    }


def session_changed(
    session: dict[str, Any], previous_starts_at: datetime | None, reason: str, clock: Clock
) -> Event:
    type_ = (
        skills.SESSION_CANCELLED if session["status"] == "cancelled" else skills.SESSION_RESCHEDULED
    )
    return _event(
        type_,
        session["group_id"],
        f"sessions/{session['_id']}",
        {
            **_session_facts(session),
            "previous_starts_at": _at(previous_starts_at) if previous_starts_at else None,
            "reason": reason,
            "changed_at": _at(clock.now()),
        },
        clock,
    )


def group_scheduled(group: dict[str, Any], sessions: list[dict[str, Any]], clock: Clock) -> Event:
    """The group and its whole calendar in one event (its name stays here): one write and one
    record for some 48 sessions, not one each."""
    return _event(
        skills.GROUP_SCHEDULED,
        group["_id"],
        f"groups/{group['_id']}",
        {
            "group_id": group["_id"],
            "site_id": group["site_id"],
            "program_id": group["program_id"],
            "weekday": group["weekday"],
            "start_time": group["start_time"],
            "duration_minutes": group["duration_minutes"],
            "capacity": group["capacity"],
            "cycles": group["cycles"],
            "room": group.get("room"),
            "facilitator_ids": list(group["facilitator_ids"]),
            "sessions": [
                {
                    "session_id": s["_id"],
                    "starts_at": _at(s["starts_at"]),
                    "status": s["status"],
                    "module": s["module"],
                }
                for s in sessions
            ],
            "scheduled_at": _at(clock.now()),
        },
        clock,
    )


def session_scheduled(session: dict[str, Any], clock: Clock) -> Event:
    """Keyed by the group, as the session's later changes are: one calendar stays in order."""
    return _event(
        skills.SESSION_SCHEDULED,
        session["group_id"],
        f"sessions/{session['_id']}",
        {
            **_session_facts(session),
            "duration_minutes": session["duration_minutes"],
            "status": session["status"],
            "facilitator_ids": list(session["facilitator_ids"]),
            "scheduled_at": _at(clock.now()),
        },
        clock,
    )


def attendance_recorded(
    session: dict[str, Any], expected: int, counts: dict[str, int], clock: Clock
) -> Event:
    """A sheet saved: counts by status only (who was absent, and why, never leaves here)."""
    return _event(
        skills.ATTENDANCE_RECORDED,
        session["group_id"],
        f"sessions/{session['_id']}",
        {
            "session_id": session["_id"],
            "group_id": session["group_id"],
            "site_id": session["site_id"],
            "expected": expected,
            **{status: counts.get(status, 0) for status in STATUSES},
            "recorded_at": _at(clock.now()),
        },
        clock,
    )
