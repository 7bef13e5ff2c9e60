"""Skills Group's HTTP schemas (Marshmallow): request validation, responses and the OpenAPI
document of its own resources. Value sets come from the domain, never retyped."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from dbt_shared import http_fields, pagination
from dbt_shared.http_fields import (
    AwareDateTime,
    Id,
    IsoDate,
    JsonInteger,
    Pattern,
    Text,
    response_schema,
)
from skills_group.domain import attendance, calendar


def _some(data: dict, names: tuple[str, ...], most: int | None = None) -> None:
    given = [n for n in names if n in data]
    if not given:
        raise ValidationError(f"Send at least one of {', '.join(names)}.", field_name="_schema")
    if most is not None and len(given) > most:
        raise ValidationError(f"Send only one of {', '.join(names)}.", field_name="_schema")


_HHMM = Pattern(r"^([01][0-9]|2[0-3]):[0-5][0-9]$", error="Use 24-hour HH:MM.")


class GroupIn(Schema):
    site_id = Id(required=True)
    program_id = Id(required=True)
    name = Text(required=True, validate=validate.Length(min=1, max=120))
    weekday = fields.String(required=True, validate=validate.OneOf(calendar.WEEKDAYS))
    start_time = fields.String(required=True, validate=_HHMM, metadata={"example": "18:00"})
    duration_minutes = JsonInteger(required=True, validate=validate.Range(min=30, max=240))
    room = Text(required=True, validate=validate.Length(min=1, max=80))
    facilitator_ids = fields.List(Id(), required=True, validate=validate.Length(min=1, max=2))
    starts_on = IsoDate(required=True)
    cycles = JsonInteger(load_default=2, validate=validate.Range(min=1, max=4))
    capacity = JsonInteger(load_default=None, validate=validate.Range(min=1, max=20))


class GroupPatch(Schema):
    room = Text(validate=validate.Length(min=1, max=80))
    facilitator_ids = fields.List(Id(), validate=validate.Length(min=1, max=2))
    capacity = JsonInteger(validate=validate.Range(min=1, max=20))

    class Meta:
        json_schema = {"minProperties": 1}

    @validates_schema
    def _one_change(self, data, **_kwargs) -> None:
        _some(data, ("room", "facilitator_ids", "capacity"))


# The groups one list answers (a caller's sites' groups for one page): bounded, not the history.
MAX_GROUPS_LISTED = 500


class GroupArgs(Schema):
    site_id = Id(
        metadata={
            "description": "one site's groups; without it, the groups of every site of the "
            "caller's (an operator: every site), site by site, at most ``limit``"
        }
    )
    program_id = Id()
    limit = fields.Integer(
        load_default=200,
        validate=validate.Range(min=1, max=MAX_GROUPS_LISTED),
        metadata={"description": "at most this many groups on a page"},
    )
    cursor = pagination.cursor_field()


SessionArgs = http_fields.LocalDates  # the days of the calendar read (all by default)


Session = response_schema(
    "Session",
    "group_id site_id date local_start module room status",
    id=fields.String(attribute="_id"),
    cycle=fields.Integer(),
    index=fields.Integer(),
    starts_at=fields.DateTime(),
    duration_minutes=fields.Integer(),
    module_week=fields.Integer(),
    is_entry_point=fields.Boolean(),
    facilitator_ids=fields.List(fields.String()),
    sequence=fields.Integer(),
)

Group = response_schema(
    "Group",
    "site_id program_id name weekday start_time room starts_on curriculum",
    id=fields.String(attribute="_id"),
    duration_minutes=fields.Integer(),
    facilitator_ids=fields.List(fields.String()),
    co_leader_missing=fields.Boolean(),
    cycles=fields.Integer(),
    capacity=fields.Integer(),
    sessions=fields.List(fields.Nested(Session)),
)


GroupPage = pagination.page_of(Group)
SessionPage = pagination.page_of(Session)


class SessionPatch(Schema):
    starts_at = AwareDateTime(metadata={"description": "the new start, with its offset"})
    room = Text(validate=validate.Length(min=1, max=80))

    class Meta:
        json_schema = {"minProperties": 1}

    @validates_schema
    def _one_change(self, data, **_kwargs) -> None:
        _some(data, ("starts_at", "room"))


class Cancellation(Schema):
    reason = Text(required=True, validate=validate.Length(min=1, max=200))


class ClosureIn(Schema):
    date = IsoDate(required=True)
    reason = Text(required=True, validate=validate.Length(min=1, max=200))


Closure = response_schema("Closure", "site_id date reason", sessions_changed=fields.Integer())


class EnrollmentIn(Schema):
    client_id = Id(required=True)
    from_session_id = Id(load_default=None, allow_none=True)


Enrollment = response_schema(
    "Enrollment",
    "client_id group_id site_id program_id first_session_id status placed_by",
    id=fields.String(attribute="_id"),
    first_index=fields.Integer(),
    until_index=fields.Integer(),
    enrolled_at=fields.DateTime(),
    consecutive_misses=fields.Integer(load_default=0, dump_default=0),
    at_risk=fields.Boolean(dump_default=False),
    transferred_from=fields.String(allow_none=True),
    therapist_id=fields.String(allow_none=True, metadata={"description": "for outreach"}),
)
EnrollmentPage = pagination.page_of(Enrollment)

WaitlistEntry = response_schema(
    "SkillsWaitlistEntry", "client_id program_id reason", waiting_since=fields.DateTime()
)


WaitlistPage = pagination.page_of(WaitlistEntry)


class WaitlistArgs(pagination.PageArgs):
    site_id = Id(required=True)
    program_id = Id()


class AttendanceRecordIn(Schema):
    client_id = Id(required=True)
    status = fields.String(required=True, validate=validate.OneOf(attendance.STATUSES))
    minutes_late = JsonInteger(load_default=None, validate=validate.Range(min=0, max=600))
    reason = Text(load_default=None, validate=validate.Length(max=200))

    @validates_schema
    def _what_each_status_needs(self, data, **_kwargs) -> None:
        # late counts as a miss past the program's minutes: without them it cannot be judged
        if data.get("status") == attendance.LATE and data.get("minutes_late") is None:
            raise ValidationError("Say how many minutes late.", field_name="minutes_late")
        if data.get("status") == attendance.EXCUSED and not (data.get("reason") or "").strip():
            raise ValidationError("Give the reason for the excused absence.", field_name="reason")


class AttendanceIn(Schema):
    records = fields.List(
        fields.Nested(AttendanceRecordIn), required=True, validate=validate.Length(min=1, max=30)
    )


AttendanceRecord = response_schema(
    "AttendanceRecord",
    "client_id status reason",
    minutes_late=fields.Integer(allow_none=True),
)
MemberRun = response_schema(
    "MemberRun",
    "client_id status",
    consecutive_misses=fields.Integer(),
    at_risk=fields.Boolean(),
)
SessionAttendance = response_schema(
    "SessionAttendance",
    "session_id",
    records=fields.List(fields.Nested(AttendanceRecord)),
    members=fields.List(
        fields.Nested(MemberRun),
        metadata={"description": "each recorded member's run and risk after this write"},
    ),
)
RosterEntry = response_schema(
    "RosterEntry",
    "client_id enrollment_id",
    status=fields.String(allow_none=True, metadata={"description": "null until recorded"}),
    minutes_late=fields.Integer(allow_none=True),
    reason=fields.String(allow_none=True),
    consecutive_misses=fields.Integer(metadata={"description": "the member's current run"}),
    miss_limit=fields.Integer(metadata={"description": "the program's consecutive miss limit"}),
    at_risk=fields.Boolean(metadata={"description": "one miss from the limit"}),
)
RosterPage = pagination.page_of(RosterEntry)
ClientSession = response_schema(
    "ClientSession",
    "session_id group_id status reason",
    minutes_late=fields.Integer(allow_none=True),
    counts_as_miss=fields.Boolean(),
)
ClientAttendance = response_schema(
    "ClientAttendance",
    "client_id",
    sessions=fields.List(fields.Nested(ClientSession)),
    consecutive_misses=fields.Integer(),
    attendance_rate=fields.Float(allow_none=True),
)


class FeedIn(Schema):
    group_id = Id()
    clinician_id = Id()

    class Meta:
        json_schema = {"minProperties": 1, "maxProperties": 1}

    @validates_schema
    def _one_target(self, data, **_kwargs) -> None:
        _some(data, ("group_id", "clinician_id"), most=1)


# A feed is a group's or a clinician's: the other of the two is null.
_FEED_TARGET = {
    "group_id": fields.String(allow_none=True),
    "clinician_id": fields.String(allow_none=True),
}
Feed = response_schema("CalendarFeed", "id url", **_FEED_TARGET)

# A feed in use, as its lists show it (never its URL: only the secret's hash is kept).
FeedSummary = response_schema(
    "CalendarFeedSummary",
    "id site_id created_by",
    **_FEED_TARGET,
    created_at=fields.DateTime(),
)
FeedPage = pagination.page_of(FeedSummary)


class FeedListArgs(pagination.PageArgs):
    site_id = Id(metadata={"description": "an operator: that site's feeds; else your own there"})


OverviewRow = response_schema(
    "OverviewRow",
    "site_id program_id",
    groups=fields.Integer(),
    seats=fields.Integer(),
    taken_at_next_entry=fields.Integer(),
    fill_ratio=fields.Float(allow_none=True),
    waitlist=fields.Integer(),
    longest_wait_days=fields.Integer(allow_none=True),
    at_risk=fields.Integer(),
    attendance_rate_4w=fields.Float(allow_none=True),
)
OverviewPage = pagination.page_of(OverviewRow)


# -- a facilitator's group operations (``api.rosters``) -----------------------------------------
GroupClash = response_schema(
    "GroupClash",
    "date kind session_id group_id",
    index=fields.Integer(),
    facilitator_id=fields.String(allow_none=True),
)
ClosureMet = response_schema("ClosureMet", "date reason effect", index=fields.Integer())
PreviewSession = response_schema(
    "PreviewSession",
    "date local_start module room status",
    cycle=fields.Integer(),
    index=fields.Integer(),
    starts_at=fields.DateTime(),
    module_week=fields.Integer(),
    is_entry_point=fields.Boolean(),
)
GroupPreview = response_schema(
    "GroupPreview",
    "curriculum",
    capacity=fields.Integer(),
    sessions=fields.List(fields.Nested(PreviewSession)),
    conflicts=fields.List(fields.Nested(GroupClash)),
    closures=fields.List(fields.Nested(ClosureMet)),
)


class ClosureArgs(Schema):
    group_id = Id(metadata={"description": "say what each closure did to this group"})


SiteClosure = response_schema(
    "SiteClosure",
    "site_id date reason",
    effect=fields.String(allow_none=True, metadata={"description": "shifted, skipped or null"}),
    session_id=fields.String(allow_none=True),
)
SiteClosurePage = pagination.page_of(SiteClosure)
ClosureRemoved = response_schema(
    "ClosureRemoved", "site_id date", sessions_changed=fields.Integer()
)


class RemovalIn(Schema):
    reason = Text(required=True, validate=validate.Length(min=1, max=200))


class TransferIn(Schema):
    group_id = Id(required=True)
    reason = Text(required=True, validate=validate.Length(min=1, max=200))
    from_session_id = Id(load_default=None, allow_none=True)


GroupWaiting = response_schema(
    "GroupWaiting",
    "client_id program_id reason",
    waiting_since=fields.DateTime(),
    fits=fields.Boolean(metadata={"description": "their availability fits the group's slot"}),
)
GroupWaitingPage = pagination.page_of(GroupWaiting)
