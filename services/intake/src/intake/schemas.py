"""Intake's HTTP schemas: request validation, response shape and OpenAPI, in one place."""

from __future__ import annotations

import re

from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from dbt_shared.contracts.intake import PROGRAMS, WEEKDAYS, WITHDRAWAL_REASONS
from dbt_shared.pagination import Page, PageArgs
from dbt_shared.web import context
from intake.domain.rules import is_known_timezone, plausible_birth_date

_ID = "01a214d7-2efe-7325-a9cf-f6c3557e6e63"
_PHONE = validate.Regexp(
    r"^\+?[0-9][0-9 ().-]{6,19}$", error="Not a phone number, e.g. +1 312 555 0100."
)
_LANGUAGE = validate.Regexp(r"^[a-z]{2,3}(-[A-Z]{2})?$", error="A language code such as en or es.")
_HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


# -- sites ----------------------------------------------------------------------------------
class ContactPerson(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 120))
    email = fields.Email(required=True)
    phone = fields.String(load_default=None, allow_none=True, validate=_PHONE)


class SiteIn(Schema):
    name = fields.String(
        required=True, validate=validate.Length(1, 120), metadata={"example": "Riverside Clinic"}
    )
    timezone = fields.String(required=True, metadata={"example": "America/Chicago"})
    intake_email = fields.Email(required=True, metadata={"example": "intake@riverside.example"})
    clinical_lead = fields.Nested(
        ContactPerson,
        load_default=None,
        allow_none=True,
        metadata={"description": "who is alerted at once, any hour, about high-risk screenings"},
    )

    @validates("timezone")
    def _known_zone(self, value: str, **_kwargs) -> None:
        if not is_known_timezone(value):
            raise ValidationError("Not an IANA time zone name, e.g. America/Chicago.")


class Site(Schema):
    id = fields.String(attribute="_id", metadata={"example": _ID})
    name = fields.String()
    timezone = fields.String()
    intake_email = fields.Email()
    clinical_lead = fields.Nested(ContactPerson, allow_none=True)
    created_at = fields.DateTime()


class SitePage(Page):
    items = fields.List(fields.Nested(Site))


# -- programs -------------------------------------------------------------------------------
class ProgramSettingsIn(Schema):
    consecutive_miss_limit = fields.Integer(validate=validate.Range(1, 12))
    late_minutes_count_as_absence = fields.Integer(validate=validate.Range(0, 120))
    prenotified_absences_count = fields.Boolean()
    twenty_four_hour_rule = fields.Boolean()
    coaching_ack_target_minutes = fields.Integer(validate=validate.Range(1, 1440))
    group_capacity = fields.Integer(validate=validate.Range(1, 20))
    curriculum = fields.String(metadata={"example": "M2 DT6 M2 ER6 M2 IE6"})


class ProgramIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(PROGRAMS))
    settings = fields.Nested(
        ProgramSettingsIn,
        load_default=dict,
        metadata={"description": "overrides of the standard DBT defaults"},
    )


class ProgramPatch(Schema):
    settings = fields.Nested(ProgramSettingsIn, required=True)


class ProgramSettings(Schema):
    consecutive_miss_limit = fields.Integer(metadata={"example": 4})
    late_minutes_count_as_absence = fields.Integer(metadata={"example": 15})
    prenotified_absences_count = fields.Boolean()
    twenty_four_hour_rule = fields.Boolean()
    coaching_ack_target_minutes = fields.Integer(metadata={"example": 15})
    group_capacity = fields.Integer(metadata={"example": 8})
    curriculum = fields.String(metadata={"example": "M2 DT6 M2 ER6 M2 IE6"})
    cycle_weeks = fields.Integer(metadata={"example": 24})


class Program(Schema):
    id = fields.String(attribute="_id", metadata={"example": _ID})
    site_id = fields.String()
    kind = fields.String()
    settings = fields.Nested(ProgramSettings)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class ProgramPage(Page):
    items = fields.List(fields.Nested(Program))


# -- clinicians -----------------------------------------------------------------------------
class ClinicianIn(Schema):
    subject = fields.String(
        required=True,
        validate=validate.Length(1, 200),
        metadata={"description": "the identity provider's subject (sub claim)"},
    )
    display_name = fields.String(required=True, validate=validate.Length(1, 120))
    roles = fields.List(
        fields.String(validate=validate.OneOf(("therapist", "facilitator"))),
        required=True,
        validate=validate.Length(min=1),
    )
    programs = fields.List(
        fields.String(validate=validate.OneOf(PROGRAMS)), load_default=lambda: list(PROGRAMS)
    )
    languages = fields.List(
        fields.String(validate=_LANGUAGE), load_default=lambda: ["en"], validate=validate.Length(1)
    )
    caseload_limit = fields.Integer(load_default=10, validate=validate.Range(0, 100))


class Clinician(Schema):
    id = fields.String(attribute="_id", metadata={"example": _ID})
    site_id = fields.String()
    subject = fields.String()
    display_name = fields.String()
    roles = fields.List(fields.String())
    programs = fields.List(fields.String())
    languages = fields.List(fields.String())
    caseload_limit = fields.Integer()
    caseload = fields.Integer(metadata={"description": "active referrals and clients assigned"})
    active = fields.Boolean()
    created_at = fields.DateTime()


class ClinicianPage(Page):
    items = fields.List(fields.Nested(Clinician))


# -- referrals ------------------------------------------------------------------------------
class ClientIn(Schema):
    given_name = fields.String(required=True, validate=validate.Length(1, 100))
    family_name = fields.String(required=True, validate=validate.Length(1, 100))
    date_of_birth = fields.Date(required=True, metadata={"example": "1994-03-17"})
    email = fields.Email(required=True, metadata={"example": "client@example.org"})
    phone = fields.String(required=True, validate=_PHONE, metadata={"example": "+1 312 555 0100"})
    preferred_channel = fields.String(
        load_default="email", validate=validate.OneOf(("email", "sms"))
    )
    language = fields.String(load_default="en", validate=_LANGUAGE)

    @validates("date_of_birth")
    def _plausible(self, value, **_kwargs) -> None:
        if not plausible_birth_date(value, context().clock.now().date()):
            raise ValidationError("Date of birth must be in the past and within 120 years.")


class ReferralIn(Schema):
    site_id = fields.String(required=True, metadata={"example": _ID})
    program = fields.String(required=True, validate=validate.OneOf(PROGRAMS))
    source = fields.String(
        required=True,
        validate=validate.Length(1, 200),
        metadata={"description": "who referred: self, GP, hospital...", "example": "GP"},
    )
    consent_to_contact = fields.Boolean(
        required=True,
        validate=validate.Equal(True, error="The client's consent to be contacted is required."),
    )
    client = fields.Nested(ClientIn, required=True)


def _at_least_one_field(value: dict) -> None:
    if not value:
        raise ValidationError("Send at least one field to change.")


class ReferralPatch(Schema):
    client = fields.Nested(
        # Every field optional and without defaults: only what is sent changes.
        ClientIn(partial=True),
        required=True,
        validate=_at_least_one_field,
    )


class Client(Schema):
    given_name = fields.String()
    family_name = fields.String()
    # Stored as the ISO date string it was given (BSON has no date-only type).
    date_of_birth = fields.String(metadata={"format": "date", "example": "1994-03-17"})
    email = fields.Email()
    phone = fields.String()
    preferred_channel = fields.String()
    language = fields.String()


class ScreeningSummary(Schema):
    id = fields.String()
    completed_at = fields.DateTime()
    risk_level = fields.String(metadata={"example": "low"})
    cssrs_risk = fields.String()
    phq9_total = fields.Integer()
    phq9_band = fields.String()
    phq9_self_harm_thoughts = fields.Boolean()
    gad7_total = fields.Integer()
    gad7_band = fields.String()
    ders16_total = fields.Integer(allow_none=True)
    bsl23_mean = fields.Float(allow_none=True)
    bsl23_band = fields.String(allow_none=True)
    flags = fields.List(fields.String())


class Eligibility(Schema):
    decision = fields.String()
    reason = fields.String()
    decided_by = fields.String()
    decided_at = fields.DateTime()


class Commitment(Schema):
    orientation_sessions = fields.Integer()
    all_modes = fields.Boolean()
    four_miss_rule = fields.Boolean()
    consent_to_treatment = fields.Boolean()
    recorded_by = fields.String()
    committed_at = fields.DateTime()


class TherapistAssignment(Schema):
    clinician_id = fields.String()
    method = fields.String(metadata={"example": "matched"})
    reasons = fields.List(fields.String())
    assigned_by = fields.String()
    assigned_at = fields.DateTime()


class Availability(Schema):
    weekday = fields.String(required=True, validate=validate.OneOf(WEEKDAYS))
    start = fields.String(required=True, metadata={"example": "17:00"})
    end = fields.String(required=True, metadata={"example": "21:00"})

    @validates_schema
    def _times(self, data, **_kwargs) -> None:
        for name in ("start", "end"):
            if not _HHMM.match(data.get(name, "")):
                raise ValidationError("Use 24-hour HH:MM.", field_name=name)
        if data["start"] >= data["end"]:
            raise ValidationError("The end must be after the start.", field_name="end")


class Admission(Schema):
    program_id = fields.String()
    availability = fields.List(fields.Nested(Availability))
    admitted_by = fields.String()
    admitted_at = fields.DateTime()


class Withdrawal(Schema):
    reason = fields.String()
    note = fields.String(allow_none=True)
    withdrawn_by = fields.String()
    withdrawn_at = fields.DateTime()
    from_status = fields.String()


class StatusChange(Schema):
    status = fields.String()
    at = fields.DateTime()
    by = fields.String()


class Referral(Schema):
    id = fields.String(attribute="_id", metadata={"example": _ID})
    site_id = fields.String()
    program = fields.String()
    source = fields.String()
    status = fields.String(metadata={"example": "received"})
    allowed_actions = fields.List(fields.String())
    consent_to_contact = fields.Boolean()
    received_at = fields.DateTime()
    client = fields.Nested(Client)
    screenings = fields.List(fields.Nested(ScreeningSummary))
    eligibility = fields.Nested(Eligibility, allow_none=True)
    commitment = fields.Nested(Commitment, allow_none=True)
    therapist = fields.Nested(TherapistAssignment, allow_none=True)
    admission = fields.Nested(Admission, allow_none=True)
    withdrawal = fields.Nested(Withdrawal, allow_none=True)
    history = fields.List(fields.Nested(StatusChange))


class ReferralSummary(Schema):
    """A list row: no client details (open the referral to see them)."""

    id = fields.String(attribute="_id")
    site_id = fields.String()
    program = fields.String()
    status = fields.String()
    source = fields.String()
    received_at = fields.DateTime()
    therapist_id = fields.String(attribute="therapist.clinician_id", allow_none=True)


class ReferralPage(Page):
    items = fields.List(fields.Nested(ReferralSummary))


class ReferralListArgs(PageArgs):
    site_id = fields.String()
    status = fields.String(
        validate=validate.OneOf(
            (
                "received",
                "screening",
                "eligible",
                "not_eligible",
                "needs_review",
                "orientation",
                "committed",
                "admitted",
                "withdrawn",
            )
        )
    )
    program = fields.String(validate=validate.OneOf(PROGRAMS))


# -- pipeline steps -------------------------------------------------------------------------
class ScreeningIn(Schema):
    cssrs = fields.List(
        fields.Boolean(),
        required=True,
        validate=validate.Length(equal=6, error="The C-SSRS screener has 6 yes/no items."),
        metadata={"description": "C-SSRS screener items 1-6, yes = true"},
    )
    phq9 = fields.List(
        fields.Integer(validate=validate.Range(0, 3)),
        required=True,
        validate=validate.Length(equal=9, error="PHQ-9 has 9 items."),
    )
    gad7 = fields.List(
        fields.Integer(validate=validate.Range(0, 3)),
        required=True,
        validate=validate.Length(equal=7, error="GAD-7 has 7 items."),
    )
    ders16_total = fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(16, 80)
    )
    bsl23_mean = fields.Float(load_default=None, allow_none=True, validate=validate.Range(0, 4))


class SafetyResource(Schema):
    name = fields.String()
    contact = fields.String()
    when = fields.String()


class ScreeningResult(ScreeningSummary):
    referral_id = fields.String()
    referral_status = fields.String()
    needs_immediate_response = fields.Boolean()
    safety_resources = fields.List(fields.Nested(SafetyResource))


class EligibilityIn(Schema):
    decision = fields.String(
        required=True, validate=validate.OneOf(("eligible", "not_eligible", "needs_review"))
    )
    reason = fields.String(required=True, validate=validate.Length(1, 2000))


class CommitmentIn(Schema):
    orientation_sessions = fields.Integer(required=True, validate=validate.Range(0, 6))
    all_modes = fields.Boolean(
        required=True, metadata={"description": "group, individual, coaching, consultation"}
    )
    four_miss_rule = fields.Boolean(required=True)
    consent_to_treatment = fields.Boolean(required=True)


class TherapistIn(Schema):
    clinician_id = fields.String(
        load_default=None,
        allow_none=True,
        metadata={"description": "set to override the match by hand"},
    )
    preferred_clinician_id = fields.String(load_default=None, allow_none=True)
    language = fields.String(load_default=None, allow_none=True, validate=_LANGUAGE)


class AdmissionIn(Schema):
    availability = fields.List(
        fields.Nested(Availability),
        required=True,
        validate=validate.Length(min=1, error="Give at least one time the client can attend."),
    )


class WithdrawalIn(Schema):
    reason = fields.String(required=True, validate=validate.OneOf(WITHDRAWAL_REASONS))
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


# -- waitlist, contact, audit ---------------------------------------------------------------
class WaitlistArgs(PageArgs):
    site_id = fields.String(required=True)
    program = fields.String(validate=validate.OneOf(PROGRAMS))


class WaitlistEntry(Schema):
    referral_id = fields.String(attribute="_id")
    program = fields.String()
    stage = fields.String(attribute="status")
    received_at = fields.DateTime()
    waiting_days = fields.Integer()


class StageCount(Schema):
    stage = fields.String()
    count = fields.Integer()


class Waitlist(Page):
    site_id = fields.String()
    stages = fields.List(fields.Nested(StageCount))
    items = fields.List(fields.Nested(WaitlistEntry))


class ClientContact(Schema):
    client_id = fields.String()
    site_id = fields.String()
    channels = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={"example": {"email": "client@example.org", "sms": "+1 312 555 0100"}},
    )
    preferred_channel = fields.String()
    language = fields.String()
    timezone = fields.String()


class AuditArgs(PageArgs):
    site_id = fields.String()
    object_type = fields.String()
    object_id = fields.String()
    actor = fields.String()
    action = fields.String()


class AuditRecord(Schema):
    id = fields.String(attribute="_id")
    at = fields.DateTime()
    actor = fields.String()
    roles = fields.List(fields.String())
    action = fields.String()
    object_type = fields.String()
    object_id = fields.String()
    site_id = fields.String()
    request_id = fields.String(allow_none=True)
    remote_addr = fields.String(allow_none=True)


class AuditPage(Page):
    items = fields.List(fields.Nested(AuditRecord))
