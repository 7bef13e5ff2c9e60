"""Events skills-group publishes on ``dbt.skills.events`` (key: the group or client id).

Ids and codes only: no names, no attendance reasons in free text.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from dbt_shared.events.catalog import EventType
from dbt_shared.events.topics import Topic

TOPIC = Topic("dbt.skills.events", service="skills-group")

ENROLLMENT_CREATED = "skills.enrollment.created.v1"
CLIENT_WAITLISTED = "skills.client.waitlisted.v1"
CLIENT_GRADUATED = "skills.client.graduated.v1"
ATTENDANCE_AT_RISK = "skills.client.attendance_at_risk.v1"
CLIENT_DISCHARGED = "skills.client.discharged.v1"
SESSION_RESCHEDULED = "skills.session.rescheduled.v1"
SESSION_CANCELLED = "skills.session.cancelled.v1"
GROUP_SCHEDULED = "skills.group.scheduled.v1"
SESSION_SCHEDULED = "skills.session.scheduled.v1"
ATTENDANCE_RECORDED = "skills.attendance.recorded.v1"

# removed: taken out by hand (a facilitator or coordinator, with a reason kept sealed)
DISCHARGE_REASONS = ("consecutive_misses", "withdrawn", "removed")
MODULES = ("M", "DT", "ER", "IE", "WMP")


class EnrollmentCreatedV1(Schema):
    enrollment_id = fields.String(required=True)
    client_id = fields.String(required=True)
    group_id = fields.String(required=True)
    site_id = fields.String(required=True)
    program_id = fields.String(required=True)
    first_session_id = fields.String(required=True)
    first_session_starts_at = fields.DateTime(required=True)
    placed_by = fields.String(required=True, validate=validate.OneOf(("rolling_admission", "hand")))
    enrolled_at = fields.DateTime(required=True)
    transferred_from_enrollment_id = fields.String(
        allow_none=True,
        load_default=None,
        metadata={"description": "a member moved by hand: the membership they left"},
    )


class ClientWaitlistedV1(Schema):
    client_id = fields.String(required=True)
    site_id = fields.String(required=True)
    program_id = fields.String(required=True)
    reason = fields.String(
        required=True,
        validate=validate.OneOf(("no_group_fits_availability", "no_free_seat", "no_group")),
    )
    waitlisted_at = fields.DateTime(required=True)


class ClientGraduatedV1(Schema):
    enrollment_id = fields.String(required=True)
    client_id = fields.String(required=True)
    group_id = fields.String(required=True)
    site_id = fields.String(required=True)
    graduated_at = fields.DateTime(required=True)


class AttendanceAtRiskV1(Schema):
    enrollment_id = fields.String(required=True)
    client_id = fields.String(required=True)
    group_id = fields.String(required=True)
    site_id = fields.String(required=True)
    therapist_id = fields.String(allow_none=True, load_default=None)
    consecutive_misses = fields.Integer(required=True)
    miss_limit = fields.Integer(required=True)
    session_id = fields.String(required=True, metadata={"description": "the session missed"})
    flagged_at = fields.DateTime(required=True)


class ClientDischargedV1(Schema):
    enrollment_id = fields.String(required=True)
    client_id = fields.String(required=True)
    group_id = fields.String(required=True)
    site_id = fields.String(required=True)
    therapist_id = fields.String(allow_none=True, load_default=None)
    reason = fields.String(required=True, validate=validate.OneOf(DISCHARGE_REASONS))
    discharged_at = fields.DateTime(required=True)


class SessionChangedV1(Schema):
    session_id = fields.String(required=True)
    group_id = fields.String(required=True)
    site_id = fields.String(required=True)
    starts_at = fields.DateTime(required=True, metadata={"description": "UTC, as now planned"})
    previous_starts_at = fields.DateTime(allow_none=True, load_default=None)
    room = fields.String(allow_none=True, load_default=None)
    module = fields.String(required=True, validate=validate.OneOf(MODULES))
    sequence = fields.Integer(required=True)
    reason = fields.String(
        required=True, validate=validate.OneOf(("closure", "reschedule", "cancellation"))
    )
    changed_at = fields.DateTime(required=True)


class PlannedSessionV1(Schema):
    session_id = fields.String(required=True)
    starts_at = fields.DateTime(required=True, metadata={"description": "UTC"})
    status = fields.String(
        required=True,
        validate=validate.OneOf(("scheduled", "cancelled")),
        metadata={"description": "cancelled: on a closure day under the skip policy"},
    )
    module = fields.String(required=True, validate=validate.OneOf(MODULES))


class GroupScheduledV1(Schema):
    group_id = fields.String(required=True)
    site_id = fields.String(required=True)
    program_id = fields.String(required=True)
    weekday = fields.String(required=True)
    start_time = fields.String(required=True, metadata={"description": "local wall time, HH:MM"})
    duration_minutes = fields.Integer(required=True)
    capacity = fields.Integer(required=True)
    cycles = fields.Integer(required=True)
    room = fields.String(allow_none=True, load_default=None)
    facilitator_ids = fields.List(fields.String(), required=True)
    sessions = fields.List(
        fields.Nested(PlannedSessionV1),
        required=True,
        metadata={"description": "every session of its calendar, in order"},
    )
    scheduled_at = fields.DateTime(required=True)


class SessionScheduledV1(Schema):
    session_id = fields.String(required=True)
    group_id = fields.String(required=True)
    site_id = fields.String(required=True)
    starts_at = fields.DateTime(required=True, metadata={"description": "UTC"})
    duration_minutes = fields.Integer(required=True)
    status = fields.String(
        required=True,
        validate=validate.OneOf(("scheduled", "cancelled")),
        metadata={"description": "cancelled: planned on a closure day under the skip policy"},
    )
    room = fields.String(allow_none=True, load_default=None)
    facilitator_ids = fields.List(fields.String(), required=True)
    module = fields.String(required=True, validate=validate.OneOf(MODULES))
    sequence = fields.Integer(required=True)
    scheduled_at = fields.DateTime(required=True)


class AttendanceRecordedV1(Schema):
    session_id = fields.String(required=True)
    group_id = fields.String(required=True)
    site_id = fields.String(required=True)
    expected = fields.Integer(
        required=True, metadata={"description": "members who hold a seat at the session"}
    )
    present = fields.Integer(required=True)
    late = fields.Integer(required=True)
    absent = fields.Integer(required=True)
    excused = fields.Integer(required=True)
    recorded_at = fields.DateTime(required=True)


EVENT_TYPES = [
    EventType(
        ENROLLMENT_CREATED,
        TOPIC,
        EnrollmentCreatedV1,
        "A client was placed in a group, from an entry point (the start of a mindfulness block).",
    ),
    EventType(
        CLIENT_WAITLISTED,
        TOPIC,
        ClientWaitlistedV1,
        "An admitted client waits for a seat in a group that fits (reason as a code).",
    ),
    EventType(
        CLIENT_GRADUATED,
        TOPIC,
        ClientGraduatedV1,
        "A member completed their passes through the curriculum; the seat is free.",
    ),
    EventType(
        ATTENDANCE_AT_RISK,
        TOPIC,
        AttendanceAtRiskV1,
        "One consecutive miss below the program's limit: reach out before the next session.",
    ),
    EventType(
        CLIENT_DISCHARGED,
        TOPIC,
        ClientDischargedV1,
        "A membership ended early (the miss limit reached, or withdrawal); the seat is free.",
    ),
    EventType(
        SESSION_RESCHEDULED,
        TOPIC,
        SessionChangedV1,
        "A session moved (a closure shifted it, or it was rescheduled by hand).",
    ),
    EventType(
        SESSION_CANCELLED,
        TOPIC,
        SessionChangedV1,
        "A session will not take place (a closure under the skip policy, or cancelled).",
    ),
    EventType(
        GROUP_SCHEDULED,
        TOPIC,
        GroupScheduledV1,
        "A group was created with its calendar: when it meets and every session (id, start, "
        "status, module) in one event, not one per session (a group has some 48).",
    ),
    EventType(
        SESSION_SCHEDULED,
        TOPIC,
        SessionScheduledV1,
        "A session was added to an existing group's calendar (a planned week written back); "
        "a new group's sessions come in its skills.group.scheduled. Later changes follow as "
        "rescheduled or cancelled.",
    ),
    EventType(
        ATTENDANCE_RECORDED,
        TOPIC,
        AttendanceRecordedV1,
        "A session's attendance sheet was saved: how many members were expected and the "
        "sheet's counts by status now (who and why stay in skills-group).",
    ),
]
