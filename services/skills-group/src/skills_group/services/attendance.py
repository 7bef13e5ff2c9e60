"""Use cases of attendance: the roster, records and the four-miss rule, reinstatement.

A record's reason (why a client was absent or late: often health or crisis) is health data:
sealed at rest with the field cipher, bound to its record, and opened only for an answer.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from dbt_shared.auth import Principal
from dbt_shared.errors import Conflict, Forbidden, InvalidInput, NotFound, StaleWrite
from dbt_shared.events.envelope import Event
from dbt_shared.ids import new_id
from dbt_shared.storage import documents
from dbt_shared.vocabulary import COORDINATING
from skills_group import events, metrics
from skills_group.bootstrap import Components
from skills_group.domain import attendance, calendar, placement
from skills_group.domain.statuses import ACTIVE, DISCHARGED
from skills_group.services.admission import promote_waiting, seats_of
from skills_group.services.common import (
    group_for,
    has_started,
    may_run,
    record_audit,
    session_for,
    settings_of,
)

# -- attendance ----------------------------------------------------------------------------------
REASON_FIELD = "reason"


def _seal_reason(c: Components, record_id: str, reason: str | None) -> str | None:
    return c.cipher.encrypt(reason, record_id=record_id, field=REASON_FIELD)


def _reason(c: Components, record: dict[str, Any]) -> str | None:
    """A record's reason in the clear."""
    return c.cipher.decrypt(record.get("reason"), record_id=record["_id"], field=REASON_FIELD)


def _shown(c: Components, record: dict[str, Any]) -> dict[str, Any]:
    return {**record, "reason": _reason(c, record)}


def _expected(c: Components, session: dict[str, Any]) -> list[dict[str, Any]]:
    """The enrollments that hold a seat at this session (active, or ended after it)."""
    return [
        e
        for e in c.repositories.enrollments_of(session["group_id"])
        if e["first_index"] <= session["index"] < e["until_index"]
    ]


def roster(session_id: str, c: Components, principal: Principal):
    session = session_for(c, session_id, principal)
    group = group_for(c, session["group_id"], principal)
    may_run(c, group, principal)
    record_audit(c, principal, "roster.read", "session", session_id, session["site_id"])
    records = {r["client_id"]: r for r in c.repositories.records_of_session(session_id)}
    rules = attendance.Rules.of(settings_of(c, group))
    out = []
    for e in _expected(c, session):
        record = records.get(e["client_id"]) or {}
        run = e.get("consecutive_misses")
        if run is None:  # a membership last changed before runs were kept: counted once here
            run = _run(c, e, rules)
        out.append(
            {
                "client_id": e["client_id"],
                "enrollment_id": e["_id"],
                "status": record.get("status"),
                "minutes_late": record.get("minutes_late"),
                "reason": _reason(c, record) if record else None,
                "consecutive_misses": run,
                "miss_limit": rules.miss_limit,
                # one miss from the limit: the facilitator reaches out before the next session
                "at_risk": e["status"] == ACTIVE and run >= rules.miss_limit - 1,
            }
        )
    return out


def _run(c: Components, enrollment: dict[str, Any], rules: attendance.Rules) -> int:
    records = [
        (r["session_id"], r)
        for r in c.repositories.records_of_enrollment(enrollment["_id"])  # index: enrollment
        if r["index"] >= enrollment.get("counted_from", enrollment["first_index"])
    ]
    return attendance.evaluate(records, rules).consecutive_misses


def record_attendance(session_id: str, body: dict[str, Any], c: Components, principal: Principal):
    session = session_for(c, session_id, principal)
    group = group_for(c, session["group_id"], principal)
    may_run(c, group, principal)
    if session["status"] == calendar.CANCELLED:
        raise Conflict("The session was cancelled.")
    if not has_started(session, c.clock.now()):
        raise Conflict("The session has not started yet.", kind="session-not-started")
    expected = {e["client_id"]: e for e in _expected(c, session)}
    for n, record in enumerate(body["records"]):
        if record["client_id"] not in expected:
            raise InvalidInput.field(f"records[{n}].client_id", "Not a member at this session.")
    for record in body["records"]:
        enrollment = expected[record["client_id"]]
        doc = {
            "_id": f"{session_id}:{record['client_id']}",
            "session_id": session_id,
            "client_id": record["client_id"],
            "enrollment_id": enrollment["_id"],
            "group_id": group["_id"],
            "index": session["index"],
            "status": record["status"],
            "minutes_late": record.get("minutes_late"),
            "reason": _seal_reason(c, f"{session_id}:{record['client_id']}", record.get("reason")),
            "recorded_by": principal.subject,
            "recorded_at": c.clock.now(),
        }
        # One document per member and session: two facilitators on one sheet write different
        # documents; on the same member the later write wins (a lost insert race, or a save on
        # a stale revision, tries again on what is stored now), never a 409 or a silent drop.
        documents.put(c.repositories.attendance, doc, attempts=5)  # index: _id
        record_audit(c, principal, "attendance.record", "attendance", doc["_id"], group["site_id"])
    freed = False
    members = []
    for client_id in dict.fromkeys(r["client_id"] for r in body["records"]):
        enrollment = expected[client_id]
        for _attempt in range(5):
            try:
                freed |= _apply_rule(c, enrollment, group)
                break
            except StaleWrite:  # another record of this member meanwhile: recount on it
                enrollment = c.repositories.enrollments.get(enrollment["_id"])  # index: _id
        else:
            raise StaleWrite("enrollment")
        members.append(
            {
                "client_id": client_id,
                "consecutive_misses": enrollment.get("consecutive_misses", 0),
                "at_risk": bool(enrollment.get("at_risk")),
                "status": enrollment["status"],
            }
        )
    if freed:
        promote_waiting(c, group["site_id"], group["program_id"])
    records = _sheet_saved(c, session, len(expected))
    return {
        "session_id": session_id,
        "records": [_shown(c, r) for r in records],
        "members": members,
    }


def _sheet_saved(c: Components, session: dict[str, Any], expected: int) -> list[dict[str, Any]]:
    """The session's counts by status after this save, in a document of its own with
    ``attendance.recorded`` (inserted: facilitators saving at once never contend on one
    document). Answers the session's records."""
    records = c.repositories.records_of_session(session["_id"])  # index: session
    counts = dict(Counter(r["status"] for r in records))
    sheet = {
        "_id": new_id(),
        "session_id": session["_id"],
        "group_id": session["group_id"],
        "site_id": session["site_id"],
        "expected": expected,
        "counts": counts,
        "saved_at": c.clock.now(),
    }
    c.repositories.sheets.insert(
        sheet, [events.attendance_recorded(session, expected, counts, c.clock)]
    )
    return records


def _apply_rule(c: Components, enrollment: dict[str, Any], group: dict[str, Any]) -> bool:
    """Recompute the member's misses; raise at-risk once per run, discharge at the limit.
    Answers whether a seat was freed."""
    rules = attendance.Rules.of(settings_of(c, group))
    records = [
        (r["session_id"], r)
        for r in c.repositories.records_of_enrollment(enrollment["_id"])
        if r["index"] >= enrollment.get("counted_from", enrollment["first_index"])
    ]
    outcome = attendance.evaluate(records, rules)
    raised: list[Event] = []
    flagged = list(enrollment.get("at_risk_flagged", []))
    for session_id in outcome.at_risk_at:
        if session_id not in flagged:
            flagged.append(session_id)
            raised.append(
                events.at_risk(
                    enrollment, rules.miss_limit - 1, rules.miss_limit, session_id, c.clock
                )
            )
    enrollment["at_risk_flagged"] = flagged
    at_risk = outcome.discharged_at is None and outcome.consecutive_misses >= rules.miss_limit - 1
    changed = (
        bool(raised)
        or enrollment.get("at_risk", False) != at_risk
        or enrollment.get("consecutive_misses") != outcome.consecutive_misses
    )
    enrollment["at_risk"] = at_risk
    enrollment["consecutive_misses"] = outcome.consecutive_misses  # the roster's run
    freed = False
    if outcome.discharged_at and enrollment["status"] == ACTIVE:
        at = next(r for s, r in records if s == outcome.discharged_at)
        enrollment.update(
            status=DISCHARGED,
            discharge_reason="consecutive_misses",
            planned_until_index=enrollment["until_index"],
            until_index=at["index"] + 1,
            ended_at=c.clock.now(),
        )
        raised.append(events.discharged(enrollment, "consecutive_misses", c.clock))
        metrics.DISCHARGES.labels("consecutive_misses").inc()
        freed = True
    if changed or raised:
        enrollment.update(c.repositories.enrollments.save(enrollment, raised))
    return freed


def reinstate(enrollment_id: str, c: Components, principal: Principal):
    enrollment = c.repositories.enrollments.get(enrollment_id)
    if enrollment is None or not principal.can_act_on_site(enrollment["site_id"]):
        raise NotFound("enrollment")
    if not principal.holds_at(enrollment["site_id"], *COORDINATING):  # of this site
        raise Forbidden("Coordinators reinstate.")
    if (
        enrollment["status"] != DISCHARGED
        or enrollment.get("discharge_reason") != "consecutive_misses"
    ):
        raise Conflict("Only a membership ended by the miss limit can be reinstated.")
    group = c.repositories.groups.get(enrollment["group_id"])
    with c.locks(f"placement/{group['_id']}"):
        seats = seats_of(c, group["_id"])
        start, until = enrollment["until_index"], enrollment["planned_until_index"]
        if not placement.free_from(seats, group["capacity"], start, until):
            raise Conflict("The group is full again.", kind="group-full")
        enrollment.update(status=ACTIVE, until_index=until, counted_from=start, at_risk_flagged=[])
        stored = c.repositories.enrollments.save(enrollment)
    record_audit(
        c, principal, "enrollment.reinstate", "enrollment", enrollment_id, enrollment["site_id"]
    )
    return stored


def client_attendance(client_id: str, c: Components, principal: Principal):
    enrollments = c.repositories.client_enrollments(client_id)
    # Site staff see the enrollments of their sites; a client only their own (the sites in a
    # client's token never pass a site check).
    visible = [e for e in enrollments if principal.can_act_on_site(e["site_id"])]
    if not visible and not principal.is_client_self(client_id):
        raise NotFound("client")
    sessions, miss_run, rate = [], 0, None
    for e in visible or enrollments:
        group = c.repositories.groups.get(e["group_id"])
        rules = attendance.Rules.of(settings_of(c, group))
        records = c.repositories.records_of_enrollment(e["_id"])
        outcome = attendance.evaluate([(r["session_id"], r) for r in records], rules)
        miss_run, rate = outcome.consecutive_misses, outcome.attendance_rate
        for r in records:
            sessions.append(
                {
                    "session_id": r["session_id"],
                    "group_id": r["group_id"],
                    "status": r["status"],
                    "minutes_late": r.get("minutes_late"),
                    "reason": _reason(c, r),
                    "counts_as_miss": attendance.is_miss(r, rules),
                }
            )
    site = (visible or enrollments or [{"site_id": "*"}])[-1]["site_id"]
    record_audit(c, principal, "attendance.read", "client", client_id, site)
    return {
        "client_id": client_id,
        "sessions": sessions,
        "consecutive_misses": miss_run,
        "attendance_rate": rate,
    }
