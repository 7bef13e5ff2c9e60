"""Coaching's HTTP schemas (Marshmallow): request validation, responses and the OpenAPI
document of its own resources. Value sets come from the domain and the event contracts, never
retyped."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from coaching.domain import diary, relationship, rota
from dbt_shared import http_fields
from dbt_shared.contracts import coaching as contract
from dbt_shared.http_fields import (
    AwareDateTime,
    Id,
    IsoDate,
    JsonInteger,
    Note,
    Pattern,
    Text,
    response_schema,
)
from dbt_shared.pagination import Page, PageArgs, page_of

_HHMM = Pattern(r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$", error="Use 24-hour HH:MM.")
_LABEL = Pattern(r"^[a-z][a-z0-9_]{0,39}$", error="Lower-case letters, digits and _.")


def _maybe() -> fields.String:
    return fields.String(allow_none=True)


OUTCOMES = ("skills_coached", "crisis_supported", "emergency_route_taken", "no_answer", "other")


class HourWindow(Schema):
    weekday = fields.String(required=True, validate=validate.OneOf(rota.WEEKDAYS))
    start = fields.String(required=True, validate=_HHMM, metadata={"example": "17:00"})
    end = fields.String(required=True, validate=_HHMM, metadata={"example": "24:00"})


class Shift(HourWindow):
    clinician_id = Id(required=True)


class HoursIn(Schema):
    hours = fields.List(fields.Nested(HourWindow), required=True, validate=validate.Length(max=50))
    callback_minutes = JsonInteger(load_default=30, validate=validate.Range(min=5, max=1440))
    emergency_number = fields.String(
        load_default="988", validate=Pattern(r"^[0-9+ ]{2,20}$", error="A phone number.")
    )
    load_threshold_minutes = JsonInteger(load_default=120, validate=validate.Range(min=0))
    request_limit_per_hour = JsonInteger(
        load_default=6,
        validate=validate.Range(min=1, max=60),
        metadata={"description": "non-crisis requests a client may make per clock hour"},
    )
    crisis_repeat_minutes = JsonInteger(
        load_default=5,
        validate=validate.Range(min=0, max=60),
        metadata={"description": "repeated crisis requests within this page at most once more"},
    )


Hours = response_schema(
    "CoachingHours",
    "site_id emergency_number",
    hours=fields.List(fields.Nested(HourWindow)),
    callback_minutes=fields.Integer(),
    load_threshold_minutes=fields.Integer(),
    request_limit_per_hour=fields.Integer(),
    crisis_repeat_minutes=fields.Integer(),
)


class RotaIn(Schema):
    primary = fields.List(fields.Nested(Shift), required=True, validate=validate.Length(max=200))
    backup = fields.List(fields.Nested(Shift), required=True, validate=validate.Length(max=200))


class OverrideIn(Schema):
    clinician_id = Id(required=True)
    role = fields.String(required=True, validate=validate.OneOf(rota.ROLES))
    from_ = AwareDateTime(required=True, data_key="from")
    to = AwareDateTime(required=True)


class TimeOffIn(Schema):
    from_ = AwareDateTime(required=True, data_key="from")
    to = AwareDateTime(required=True)


Override = response_schema(
    "RotaOverride",
    "id site_id clinician_id role",
    from_=fields.DateTime(attribute="from", data_key="from"),
    to=fields.DateTime(),
)
TimeOff = response_schema(
    "TimeOff",
    "id site_id clinician_id",
    from_=fields.DateTime(attribute="from", data_key="from"),
    to=fields.DateTime(),
)
Rota = response_schema(
    "Rota",
    "site_id",
    primary=fields.List(fields.Nested(Shift)),
    backup=fields.List(fields.Nested(Shift)),
    overrides=fields.List(fields.Nested(Override)),
    time_off=fields.List(fields.Nested(TimeOff)),
)


CoverageArgs = http_fields.LocalDates  # the days of the timeline (7 from today by default)


Coverage = response_schema(
    "Coverage",
    "site_id timezone",
    timeline=fields.List(
        fields.Nested(
            response_schema(
                "CoverageSpan",
                primary=_maybe(),
                backup=_maybe(),
                start=fields.DateTime(),
                end=fields.DateTime(),
            )
        )
    ),
    gaps=fields.List(
        fields.Nested(
            response_schema(
                "CoverageGap", "missing", start=fields.DateTime(), end=fields.DateTime()
            )
        )
    ),
)


# -- coaching requests ---------------------------------------------------------------------------
class RequestIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(contract.REQUEST_KINDS))


class ClosureIn(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    duration_minutes = JsonInteger(required=True, validate=validate.Range(min=0, max=600))


class RequestArgs(PageArgs):
    site_id = Id(required=True)
    status = fields.String(validate=validate.OneOf(contract.REQUEST_STATUSES))


EmergencyRoute = response_schema("EmergencyRoute", "number text")
HistoryEntry = response_schema(
    "RequestHistoryEntry",
    "what",
    by=_maybe(),
    outcome=_maybe(),
    to=_maybe(),
    at=fields.DateTime(),
    level=fields.Integer(),
    notified=fields.List(fields.String()),
)
Request = response_schema(
    "CoachingRequest",
    "id client_id site_id kind status reason explanation outcome",
    routed_to=_maybe(),
    emergency_route=fields.Nested(EmergencyRoute),
    crisis=fields.Boolean(),
    notified=fields.List(fields.String()),
    notify_clinical_lead=fields.Boolean(),
    notify_site_intake=fields.Boolean(),
    acknowledge_by=fields.DateTime(allow_none=True),
    call_back_by=fields.DateTime(allow_none=True),
    held_until=fields.DateTime(),
    released_at=fields.DateTime(),
    unverified=fields.List(fields.String()),
    repeats=fields.Integer(),
    created_at=fields.DateTime(),
    acknowledged_at=fields.DateTime(),
    called_back_at=fields.DateTime(),
    closed_at=fields.DateTime(),
    duration_minutes=fields.Integer(),
    history=fields.List(fields.Nested(HistoryEntry)),
)


class RequestPage(Page):
    items = fields.List(fields.Nested(Request))


class SelfHarmIn(Schema):
    occurred_at = AwareDateTime(required=True)


SelfHarm = response_schema(
    "SelfHarmRecord", "client_id", self_harm_at=fields.DateTime(), rule_until=fields.DateTime()
)


# -- diary cards ---------------------------------------------------------------------------------
class Urge(Schema):
    # A personal target is in the client's own words ("licorice binge"), sealed with the rest
    # of the card; only the standard targets are codes (the risk rules read those).
    target = Text(
        required=True,
        validate=validate.Length(min=1, max=diary.TARGET_MAX),
        metadata={
            "description": f"{', '.join(diary.STANDARD_TARGETS)}, or a personal target in the "
            "client's own words (one line)"
        },
    )
    rating = JsonInteger(required=True, validate=validate.Range(min=0, max=5))
    acted = fields.Boolean(required=True)


class DiaryCardIn(Schema):
    date = IsoDate(required=True)
    emotions = http_fields.Dict(
        keys=fields.String(validate=_LABEL),
        values=JsonInteger(validate=validate.Range(min=0, max=5)),
        load_default=dict,
        max_properties=30,
    )
    urges = fields.List(fields.Nested(Urge), load_default=list, validate=validate.Length(max=20))
    skills_used = fields.List(
        fields.String(validate=_LABEL), load_default=list, validate=validate.Length(max=50)
    )
    distress = JsonInteger(required=True, validate=validate.Range(min=0, max=10))

    @validates_schema
    def _one_per_target(self, data, **_kwargs) -> None:
        targets = [diary.target_key(u["target"]) for u in data.get("urges", [])]
        if len(targets) != len(set(targets)):
            raise ValidationError("One entry per target.", field_name="urges")


DiaryCard = response_schema(
    "DiaryCard",
    "id client_id date",
    submitted_at=fields.DateTime(),
    emotions=fields.Dict(keys=fields.String(), values=fields.Integer()),
    urges=fields.List(fields.Nested(Urge)),
    skills_used=fields.List(fields.String()),
    distress=fields.Integer(),
    risk_flagged=fields.Boolean(),
)


class WeekArgs(Schema):
    week = fields.String(
        validate=Pattern(r"^[0-9]{4}-W[0-9]{2}$", error="Use an ISO week: YYYY-Www."),
        metadata={"example": "2026-W49"},
    )


DiarySummary = response_schema(
    "DiarySummary",
    "client_id week from to",
    distress_trend=_maybe(),
    days_filled=fields.Integer(),
    emotions=fields.Dict(keys=fields.String(), values=fields.Float()),
    urges=fields.Dict(keys=fields.String(), values=fields.Dict()),
    skills_by_module=fields.Dict(keys=fields.String(), values=fields.Dict()),
    distress=fields.List(fields.Dict()),
)


# -- the relationship ----------------------------------------------------------------------------
class CheckinIn(Schema):
    session_kind = fields.String(required=True, validate=validate.OneOf(("individual", "group")))
    ratings = fields.List(
        JsonInteger(validate=validate.Range(min=0, max=relationship.ITEM_MAX)),
        required=True,
        validate=validate.Length(equal=relationship.ITEMS),
    )


Checkin = response_schema(
    "AllianceCheckin",
    "id client_id session_kind",
    rupture_id=_maybe(),
    at=fields.DateTime(),
    total=fields.Integer(),
)


class RepairIn(Schema):
    note = Note(validate=validate.Length(max=2000))


Rupture = response_schema(
    "Rupture",
    "id client_id checkin_id status",
    repaired_by=_maybe(),
    note=_maybe(),
    reasons=fields.List(fields.String()),
    flagged_at=fields.DateTime(),
    repaired_at=fields.DateTime(),
)
Alliance = response_schema(
    "Alliance",
    "client_id",
    series=fields.List(
        fields.Nested(
            response_schema(
                "AlliancePoint",
                "id session_kind",
                at=fields.DateTime(),
                ratings=fields.List(fields.Integer()),
                total=fields.Integer(),
                baseline=fields.Float(
                    allow_none=True,
                    metadata={"description": "the mean of the client's previous four totals"},
                ),
            )
        )
    ),
    open_ruptures=fields.List(fields.Nested(Rupture)),
    repaired_ruptures=fields.List(fields.Nested(Rupture)),
)


class GoalIn(Schema):
    title = Text(required=True, validate=validate.Length(min=1, max=200))
    why = Note(validate=validate.Length(max=2000))
    target_date = IsoDate()


class GoalPatch(Schema):
    progress = JsonInteger(validate=validate.Range(min=0, max=100))
    status = fields.String(validate=validate.OneOf(("active", "achieved", "dropped")))
    note = Note(validate=validate.Length(max=2000))

    class Meta:
        json_schema = {"minProperties": 1}

    @validates_schema
    def _some(self, data, **_kwargs) -> None:
        if not data:
            raise ValidationError("Send progress, status or note.", field_name="_schema")


Goal = response_schema(
    "Goal",
    "id client_id title status",
    why=_maybe(),
    note=_maybe(),
    target_date=_maybe(),
    progress=fields.Integer(),
    created_at=fields.DateTime(),
    history=fields.List(
        fields.Nested(
            response_schema(
                "GoalChange", "by", at=fields.DateTime(), changed=fields.List(fields.String())
            )
        )
    ),
)
GoalPage = page_of(Goal)


class LoadArgs(Schema):
    weeks = fields.Integer(load_default=4, validate=validate.Range(min=1, max=26))


Load = response_schema(
    "ClinicianLoad",
    "clinician_id site_id",
    weeks=fields.List(
        fields.Nested(
            response_schema(
                "LoadWeek",
                "week",
                contacts=fields.Integer(),
                minutes=fields.Integer(),
                outside_business_hours_minutes=fields.Integer(),
            )
        )
    ),
)
