"""Events coaching publishes on ``dbt.coaching.events`` (key: the request, client or site id).

Ids and codes only: no diary content, no ratings, no notes. Who must be reached is said as
clinician ids plus two flags (the site's clinical lead, the site's intake address); the
notifications service resolves them to addresses at send time.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from dbt_shared.events.catalog import EventType
from dbt_shared.events.topics import Topic

TOPIC = Topic("dbt.coaching.events")

REQUEST_CREATED = "coaching.request.created.v1"
REQUEST_ACKNOWLEDGED = "coaching.request.acknowledged.v1"
REQUEST_CALLED_BACK = "coaching.request.called_back.v1"
REQUEST_ESCALATED = "coaching.request.escalated.v1"
REQUEST_CLOSED = "coaching.request.closed.v1"
REQUEST_RELEASED = "coaching.request.released.v1"
COVERAGE_GAP = "coaching.coverage.gap_detected.v1"
DIARY_CARD_SUBMITTED = "coaching.diary_card.submitted.v1"
RISK_FLAGGED = "coaching.risk.flagged.v1"
RUPTURE_FLAGGED = "coaching.alliance.rupture_flagged.v1"
LOAD_HIGH = "coaching.clinician.load_high.v1"

REQUEST_KINDS = ("skills", "relationship", "crisis")
REQUEST_STATUSES = ("open", "acknowledged", "called_back", "closed", "held_24_hour_rule")
DEADLINES = ("acknowledgement", "callback")
ROLES = ("primary", "backup")
# What a crisis request could not check; recorded on it, never a reason to refuse it.
UNVERIFIED = ("client_unknown", "site_unknown", "site_ambiguous")


class RequestCreatedV1(Schema):
    request_id = fields.String(required=True)
    client_id = fields.String(required=True)
    site_id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(REQUEST_KINDS))
    status = fields.String(required=True, validate=validate.OneOf(REQUEST_STATUSES))
    crisis = fields.Boolean(
        required=True, metadata={"description": "the crisis path: reach everyone at once"}
    )
    routed_to = fields.String(allow_none=True, load_default=None)
    notified = fields.List(fields.String(), required=True, metadata={"description": "clinicians"})
    notify_clinical_lead = fields.Boolean(required=True)
    notify_site_intake = fields.Boolean(required=True)
    acknowledge_by = fields.DateTime(allow_none=True, load_default=None)
    call_back_by = fields.DateTime(allow_none=True, load_default=None)
    created_at = fields.DateTime(required=True)
    unverified = fields.List(
        fields.String(validate=validate.OneOf(UNVERIFIED)),
        load_default=list,
        metadata={"description": "what coaching could not check (a crisis is never refused)"},
    )


class RequestReleasedV1(Schema):
    request_id = fields.String(required=True)
    client_id = fields.String(required=True)
    site_id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(REQUEST_KINDS))
    routed_to = fields.String(allow_none=True, load_default=None)
    notified = fields.List(fields.String(), required=True, metadata={"description": "clinicians"})
    notify_clinical_lead = fields.Boolean(required=True)
    acknowledge_by = fields.DateTime(required=True)
    call_back_by = fields.DateTime(required=True)
    released_at = fields.DateTime(required=True)


class RequestStepV1(Schema):
    request_id = fields.String(required=True)
    client_id = fields.String(required=True)
    site_id = fields.String(required=True)
    by = fields.String(required=True, metadata={"description": "a clinician id"})
    at = fields.DateTime(required=True)


class RequestEscalatedV1(Schema):
    request_id = fields.String(required=True)
    client_id = fields.String(required=True)
    site_id = fields.String(required=True)
    deadline = fields.String(required=True, validate=validate.OneOf(DEADLINES))
    level = fields.Integer(required=True, metadata={"description": "1: the backup, 2: the lead"})
    to = fields.String(allow_none=True, load_default=None, metadata={"description": "clinician"})
    notify_clinical_lead = fields.Boolean(required=True)
    escalated_at = fields.DateTime(required=True)


class CoverageGapV1(Schema):
    gap_id = fields.String(required=True)
    site_id = fields.String(required=True)
    missing = fields.String(required=True, validate=validate.OneOf(ROLES))
    starts_at = fields.DateTime(required=True)
    ends_at = fields.DateTime(required=True)
    detected_at = fields.DateTime(required=True)


class DiaryCardSubmittedV1(Schema):
    card_id = fields.String(required=True)
    client_id = fields.String(required=True)
    site_id = fields.String(required=True)
    date = fields.Date(required=True)
    submitted_at = fields.DateTime(required=True)


class RiskFlaggedV1(Schema):
    client_id = fields.String(required=True)
    site_id = fields.String(required=True)
    therapist_id = fields.String(allow_none=True, load_default=None)
    source = fields.String(required=True, validate=validate.OneOf(("diary_card",)))
    source_id = fields.String(required=True)
    level = fields.String(required=True, validate=validate.OneOf(("high",)))
    flagged_at = fields.DateTime(required=True)


class RuptureFlaggedV1(Schema):
    rupture_id = fields.String(required=True)
    client_id = fields.String(required=True)
    site_id = fields.String(required=True)
    therapist_id = fields.String(allow_none=True, load_default=None)
    checkin_id = fields.String(required=True)
    flagged_at = fields.DateTime(required=True)


class LoadHighV1(Schema):
    clinician_id = fields.String(required=True)
    site_id = fields.String(required=True)
    week = fields.String(required=True, metadata={"example": "2026-W49"})
    minutes = fields.Integer(required=True, metadata={"description": "outside business hours"})
    threshold_minutes = fields.Integer(required=True)
    flagged_at = fields.DateTime(required=True)


EVENT_TYPES = [
    EventType(
        REQUEST_CREATED,
        TOPIC,
        RequestCreatedV1,
        "A client asked for coaching: whom to reach now (clinicians, and on the crisis path or "
        "with nobody on call the clinical lead and the intake address). A request held by the "
        "24-hour rule informs the therapist.",
        health_state=True,
    ),
    EventType(
        REQUEST_ACKNOWLEDGED,
        TOPIC,
        RequestStepV1,
        "A clinician acknowledged a coaching request.",
    ),
    EventType(
        REQUEST_CALLED_BACK,
        TOPIC,
        RequestStepV1,
        "A clinician called the client back (the request is answered).",
    ),
    EventType(
        REQUEST_ESCALATED,
        TOPIC,
        RequestEscalatedV1,
        "A deadline (acknowledgement or call-back) passed: the request now goes to the backup "
        "(level 1) or the clinical lead (level 2).",
    ),
    EventType(
        REQUEST_RELEASED,
        TOPIC,
        RequestReleasedV1,
        "A request held by the 24-hour rule reached the end of its hold: it is now an open "
        "request, routed as a new one (whom to reach now; acknowledgement and call-back "
        "deadlines from the release).",
        health_state=True,
    ),
    EventType(
        REQUEST_CLOSED,
        TOPIC,
        RequestStepV1,
        "A coaching contact ended (outcome and duration stay in coaching).",
    ),
    EventType(
        COVERAGE_GAP,
        TOPIC,
        CoverageGapV1,
        "Within the next 7 days, published coaching hours with no primary or no backup on call; "
        "once per gap.",
    ),
    EventType(
        DIARY_CARD_SUBMITTED,
        TOPIC,
        DiaryCardSubmittedV1,
        "A client filled in (or replaced) the diary card of a day; its content stays in coaching.",
    ),
    EventType(
        RISK_FLAGGED,
        TOPIC,
        RiskFlaggedV1,
        "A diary card shows high risk (an urge to suicide of 4 or more, or self-harm acted on): "
        "a safety alert for the therapist.",
        health_state=True,
    ),
    EventType(
        RUPTURE_FLAGGED,
        TOPIC,
        RuptureFlaggedV1,
        "An alliance check-in suggests a rupture for the therapist to raise in the next session.",
        health_state=True,
    ),
    EventType(
        LOAD_HIGH,
        TOPIC,
        LoadHighV1,
        "A clinician's coaching minutes outside business hours this week passed the site's "
        "threshold (therapist fatigue).",
    ),
]
