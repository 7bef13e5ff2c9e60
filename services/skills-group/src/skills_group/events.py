"""The events skills-group records (contracts in ``dbt_shared.contracts.skills``, ids and codes
only) and the intake events it consumes (sites, programs, clinicians, admitted clients)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dbt_shared.clock import Clock
from dbt_shared.contracts import intake, skills
from dbt_shared.events.builders import EventBuilder, fields_of, iso
from dbt_shared.events.catalog import Catalog
from dbt_shared.events.envelope import Event
from skills_group.domain.attendance import STATUSES

SERVICE = "skills-group"
# The event types it publishes and consumes (their topics are created when the worker starts).
CATALOG = Catalog.of(intake, skills)
_event = EventBuilder(SERVICE, CATALOG)


def enrollment_created(e: dict[str, Any], first_starts_at: datetime, clock: Clock) -> Event:
    placed = ("client_id", "group_id", "site_id", "program_id", "first_session_id", "placed_by")
    moved = {"transferred_from_enrollment_id": "transferred_from"}
    data = fields_of(e, *placed, "enrolled_at", enrollment_id="_id", **moved)
    data["first_session_starts_at"] = iso(first_starts_at)
    subject = f"enrollments/{e['_id']}"
    return _event(skills.ENROLLMENT_CREATED, e["client_id"], subject, data, clock)


def client_waitlisted(client: dict[str, Any], reason: str, clock: Clock) -> Event:
    data = fields_of(client, "site_id", "program_id", client_id="_id")
    data.update(reason=reason, waitlisted_at=iso(clock.now()))
    subject = f"clients/{client['_id']}"
    return _event(skills.CLIENT_WAITLISTED, client["_id"], subject, data, clock)


def _membership_event(type_: str, e: dict[str, Any], data: dict[str, Any], clock: Clock) -> Event:
    """Keyed by the client; which membership, whose, of which group, where."""
    about = fields_of(e, "client_id", "group_id", "site_id", enrollment_id="_id")
    return _event(type_, e["client_id"], f"enrollments/{e['_id']}", about | data, clock)


def at_risk(e: dict[str, Any], run: int, limit: int, session_id: str, clock: Clock) -> Event:
    data = {"therapist_id": e.get("therapist_id"), "consecutive_misses": run, "miss_limit": limit}
    data.update(session_id=session_id, flagged_at=iso(clock.now()))
    return _membership_event(skills.ATTENDANCE_AT_RISK, e, data, clock)


def discharged(e: dict[str, Any], reason: str, clock: Clock) -> Event:
    data = {"therapist_id": e.get("therapist_id"), "reason": reason}
    data["discharged_at"] = iso(clock.now())
    return _membership_event(skills.CLIENT_DISCHARGED, e, data, clock)


def graduated(e: dict[str, Any], clock: Clock) -> Event:
    data = {"graduated_at": iso(clock.now())}
    return _membership_event(skills.CLIENT_GRADUATED, e, data, clock)


def _session_event(type_: str, session: dict[str, Any], data: dict[str, Any], clock: Clock):
    """Keyed by the group (one calendar stays in order); what every session event says of its
    session: which, where and when (no one's name)."""
    facts = ("group_id", "site_id", "starts_at", "room", "module", "sequence")
    about = fields_of(session, *facts, session_id="_id")
    return _event(type_, session["group_id"], f"sessions/{session['_id']}", about | data, clock)


def session_changed(
    session: dict[str, Any], previous_starts_at: datetime | None, reason: str, clock: Clock
) -> Event:
    cancelled = session["status"] == "cancelled"
    type_ = skills.SESSION_CANCELLED if cancelled else skills.SESSION_RESCHEDULED
    data = {"previous_starts_at": iso(previous_starts_at), "reason": reason}
    data["changed_at"] = iso(clock.now())
    return _session_event(type_, session, data, clock)


def group_scheduled(group: dict[str, Any], sessions: list[dict[str, Any]], clock: Clock) -> Event:
    """The group and its whole calendar in one event (its name stays here): one write and one
    record for some 48 sessions, not one each."""
    where = ("site_id", "program_id", "weekday", "start_time", "duration_minutes", "room")
    data = fields_of(group, *where, "capacity", "cycles", "facilitator_ids", group_id="_id")
    calendar = [fields_of(s, "starts_at", "status", "module", session_id="_id") for s in sessions]
    data.update(sessions=calendar, scheduled_at=iso(clock.now()))
    subject = f"groups/{group['_id']}"
    return _event(skills.GROUP_SCHEDULED, group["_id"], subject, data, clock)


def session_scheduled(session: dict[str, Any], clock: Clock) -> Event:
    """A session added to a calendar after the group was scheduled."""
    data = fields_of(session, "duration_minutes", "status", "facilitator_ids")
    data["scheduled_at"] = iso(clock.now())
    return _session_event(skills.SESSION_SCHEDULED, session, data, clock)


def attendance_recorded(
    session: dict[str, Any], expected: int, counts: dict[str, int], clock: Clock
) -> Event:
    """A sheet saved: counts by status only (who was absent, and why, never leaves here)."""
    data = fields_of(session, "group_id", "site_id", session_id="_id")
    data.update({status: counts.get(status, 0) for status in STATUSES})
    data.update(expected=expected, recorded_at=iso(clock.now()))
    return _event(
        skills.ATTENDANCE_RECORDED, session["group_id"], f"sessions/{session['_id']}", data, clock
    )
