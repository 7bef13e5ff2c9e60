"""Events intake publishes on ``dbt.intake.events`` (key: the site, program or referral id).

A referral's id is also the client's id in every other service.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from dbt_shared import vocabulary
from dbt_shared.events.catalog import EventType
from dbt_shared.events.topics import Topic

TOPIC = Topic("dbt.intake.events")

SITE_REGISTERED = "intake.site.registered.v1"
SITE_UPDATED = "intake.site.updated.v1"
PROGRAM_CONFIGURED = "intake.program.configured.v1"
CLINICIAN_REGISTERED = "intake.clinician.registered.v1"
CLINICIAN_DEACTIVATED = "intake.clinician.deactivated.v1"
REFERRAL_RECEIVED = "intake.referral.received.v1"
SCREENING_COMPLETED = "intake.screening.completed.v1"
RISK_FLAGGED = "intake.risk.flagged.v1"
THERAPIST_ASSIGNED = "intake.therapist.assigned.v1"
CLIENT_ADMITTED = "intake.client.admitted.v1"
REFERRAL_WITHDRAWN = "intake.referral.withdrawn.v1"
STAFF_CHANGED = "intake.staff.changed.v1"

PROGRAMS = vocabulary.PROGRAM_KINDS
WEEKDAYS = vocabulary.WEEKDAYS
WITHDRAWAL_REASONS = vocabulary.WITHDRAWAL_REASONS
STAFF_SITE_ROLES = vocabulary.STAFF_SITE_ROLES


class SiteRegisteredV1(Schema):
    site_id = fields.String(required=True)
    timezone = fields.String(required=True, metadata={"description": "IANA time zone"})
    registered_at = fields.DateTime(required=True)


# The fields of a site an operator may change that its ``site.updated`` event names.
SITE_CHANGEABLE = ("name", "timezone", "intake_email", "clinical_lead", "phone_region")


class SiteUpdatedV1(Schema):
    site_id = fields.String(required=True)
    timezone = fields.String(required=True, metadata={"description": "IANA time zone, now"})
    changed = fields.List(
        fields.String(validate=validate.OneOf(SITE_CHANGEABLE)),
        required=True,
        metadata={"description": "which of the site's fields changed (the values stay in intake)"},
    )
    updated_at = fields.DateTime(required=True)


class ProgramSettingsV1(Schema):
    consecutive_miss_limit = fields.Integer(required=True, validate=validate.Range(min=1))
    late_minutes_count_as_absence = fields.Integer(required=True, validate=validate.Range(min=0))
    prenotified_absences_count = fields.Boolean(required=True)
    twenty_four_hour_rule = fields.Boolean(required=True)
    coaching_ack_target_minutes = fields.Integer(required=True, validate=validate.Range(min=1))
    group_capacity = fields.Integer(required=True, validate=validate.Range(min=1))
    curriculum = fields.String(required=True, metadata={"example": "M2 DT6 M2 ER6 M2 IE6"})
    placement_horizon_weeks = fields.Integer(load_default=12, validate=validate.Range(min=1))
    closure_policy = fields.String(
        load_default="shift",
        validate=validate.OneOf(("shift", "skip")),
        metadata={"description": "a site closure shifts the calendar by a week, or skips"},
    )


class ProgramConfiguredV1(Schema):
    program_id = fields.String(required=True)
    site_id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(PROGRAMS))
    settings = fields.Nested(ProgramSettingsV1, required=True)
    configured_at = fields.DateTime(required=True)


class ClinicianRegisteredV1(Schema):
    clinician_id = fields.String(required=True)
    site_id = fields.String(required=True)
    subject = fields.String(required=True, metadata={"description": "identity-provider subject"})
    roles = fields.List(fields.String(validate=validate.OneOf(("therapist", "facilitator"))))
    registered_at = fields.DateTime(required=True)


class ClinicianDeactivatedV1(Schema):
    clinician_id = fields.String(required=True)
    site_id = fields.String(required=True)
    deactivated_at = fields.DateTime(required=True)


class ReferralReceivedV1(Schema):
    referral_id = fields.String(required=True)
    site_id = fields.String(required=True)
    program = fields.String(required=True, validate=validate.OneOf(PROGRAMS))
    received_at = fields.DateTime(required=True)


class ScreeningCompletedV1(Schema):
    referral_id = fields.String(required=True)
    site_id = fields.String(required=True)
    screening_id = fields.String(required=True)
    completed_at = fields.DateTime(required=True)


class RiskFlaggedV1(Schema):
    referral_id = fields.String(required=True)
    site_id = fields.String(required=True)
    screening_id = fields.String(required=True)
    level = fields.String(required=True, validate=validate.OneOf(("high",)))
    flagged_at = fields.DateTime(required=True)


class TherapistAssignedV1(Schema):
    referral_id = fields.String(required=True)
    site_id = fields.String(required=True)
    therapist_id = fields.String(required=True, metadata={"description": "a clinician id"})
    method = fields.String(required=True, validate=validate.OneOf(("matched", "manual")))
    assigned_at = fields.DateTime(required=True)


class AvailabilityV1(Schema):
    weekday = fields.String(required=True, validate=validate.OneOf(WEEKDAYS))
    start = fields.String(required=True, metadata={"example": "17:00"})
    end = fields.String(required=True, metadata={"example": "21:00"})


class ClientAdmittedV1(Schema):
    client_id = fields.String(required=True, metadata={"description": "= the referral id"})
    referral_id = fields.String(required=True)
    site_id = fields.String(required=True)
    program_id = fields.String(required=True)
    program = fields.String(required=True, validate=validate.OneOf(PROGRAMS))
    therapist_id = fields.String(required=True)
    availability = fields.List(fields.Nested(AvailabilityV1), required=True)
    admitted_at = fields.DateTime(required=True)


class ReferralWithdrawnV1(Schema):
    referral_id = fields.String(required=True)
    site_id = fields.String(required=True)
    reason = fields.String(required=True, validate=validate.OneOf(WITHDRAWAL_REASONS))
    from_status = fields.String(required=True)
    withdrawn_at = fields.DateTime(required=True)


class StaffMembershipV1(Schema):
    site_id = fields.String(required=True)
    roles = fields.List(
        fields.String(validate=validate.OneOf(STAFF_SITE_ROLES)),
        required=True,
        validate=validate.Length(min=1),
    )


class StaffChangedV1(Schema):
    subject = fields.String(required=True, metadata={"description": "identity-provider subject"})
    active = fields.Boolean(required=True)
    memberships = fields.List(fields.Nested(StaffMembershipV1), required=True)
    version = fields.Integer(
        required=True,
        validate=validate.Range(min=1),
        metadata={"description": "grows with each change: an older event never undoes a newer"},
    )
    changed_at = fields.DateTime(required=True)


EVENT_TYPES = [
    EventType(
        SITE_REGISTERED,
        TOPIC,
        SiteRegisteredV1,
        "An operator registered a site (clinic). Details such as the intake email and the "
        "clinical lead stay in intake: fetch them from GET /v1/sites/{id} with a service token.",
    ),
    EventType(
        SITE_UPDATED,
        TOPIC,
        SiteUpdatedV1,
        "An operator changed a site: its time zone now (every read model of sites keeps it) and "
        "the names of the fields that changed; their values (name, intake email, clinical lead) "
        "stay in intake: fetch them from GET /v1/sites/{id} with a service token.",
    ),
    EventType(
        PROGRAM_CONFIGURED,
        TOPIC,
        ProgramConfiguredV1,
        "A program of a site was created or its settings changed; carries every setting.",
    ),
    EventType(
        CLINICIAN_REGISTERED,
        TOPIC,
        ClinicianRegisteredV1,
        "A clinician was registered at a site (ids and roles only, no name).",
    ),
    EventType(
        CLINICIAN_DEACTIVATED,
        TOPIC,
        ClinicianDeactivatedV1,
        "A clinician no longer works at the site: what they were given ends (their calendar "
        "feeds stop answering).",
    ),
    EventType(
        REFERRAL_RECEIVED,
        TOPIC,
        ReferralReceivedV1,
        "A coordinator recorded a new referral. Ids only: the client's details stay in intake.",
    ),
    EventType(
        SCREENING_COMPLETED,
        TOPIC,
        ScreeningCompletedV1,
        "A screening was recorded for a referral. Scores and answers stay in intake.",
    ),
    EventType(
        RISK_FLAGGED,
        TOPIC,
        RiskFlaggedV1,
        "A screening showed high risk: the site's clinical lead must be alerted at once, "
        "whatever the hour.",
        health_state=True,
    ),
    EventType(
        THERAPIST_ASSIGNED,
        TOPIC,
        TherapistAssignedV1,
        "A therapist was assigned to a referral, by matching or by hand.",
    ),
    EventType(
        CLIENT_ADMITTED,
        TOPIC,
        ClientAdmittedV1,
        "A client was admitted to a program: ready for placement into a skills group.",
    ),
    EventType(
        REFERRAL_WITHDRAWN,
        TOPIC,
        ReferralWithdrawnV1,
        "A referral was withdrawn before admission (reason as a code; free text stays in intake).",
    ),
    EventType(
        STAFF_CHANGED,
        TOPIC,
        StaffChangedV1,
        "A staff member was added, changed or deactivated: their whole state now (subject, "
        "active, each site and the roles held there, version; no name). Every service keeps "
        "it in its staff directory, from which the site roles of a request are taken.",
    ),
]
