"""Intake's response schemas: only their shape is documented (the server writes them)."""

from __future__ import annotations

from marshmallow import fields

from dbt_shared import audit, http_fields
from dbt_shared.pagination import Page, page_of
from intake.domain import pipeline, programs, screening
from intake.schemas.requests import EXAMPLE_ID, Availability, ContactPerson

_record, _at, _int, _bool = (
    http_fields.response_schema,
    fields.DateTime,
    fields.Integer,
    fields.Boolean,
)


def _strings() -> fields.List:
    return fields.List(fields.String())


def _id(example: str = EXAMPLE_ID) -> fields.String:
    return fields.String(attribute="_id", metadata={"example": example})


Site = _record(
    "Site",
    "name timezone",
    id=_id(),
    phone_region=fields.String(
        allow_none=True, metadata={"description": "country of numbers without a country code"}
    ),
    intake_email=fields.Email(),
    created_at=_at(),
    updated_at=_at(),
    clinical_lead=fields.Nested(ContactPerson, allow_none=True),
)


SitePage = page_of(Site)


ProgramSettings = _record(
    "ProgramSettings",
    "curriculum closure_policy",
    **{n: _int() for n in (*programs.SETTING_RANGES, "cycle_weeks")},
    **{name: _bool() for name in programs.SWITCHES},
)


Program = _record(
    "Program",
    "site_id kind",
    id=_id(f"{EXAMPLE_ID}:adult"),
    settings=fields.Nested(ProgramSettings),
    created_at=_at(),
    updated_at=_at(),
)


ProgramPage = page_of(Program)


Clinician = _record(
    "Clinician",
    "site_id subject display_name",
    email=fields.String(allow_none=True, metadata={"description": "work email, for alerts"}),
    phone=fields.String(allow_none=True, metadata={"description": "work phone, for pages"}),
    id=_id(),
    roles=_strings(),
    programs=_strings(),
    languages=_strings(),
    caseload_limit=_int(),
    active=_bool(),
    created_at=_at(),
    caseload=fields.Integer(metadata={"description": "active referrals and clients assigned"}),
)


ClinicianPage = page_of(Clinician)


# The date of birth is stored as the ISO date string it was given (BSON has no date-only type).
Client = _record(
    "Client",
    "given_name family_name phone preferred_channel language",
    email=fields.Email(),
    date_of_birth=fields.String(metadata={"format": "date", "example": "1994-03-17"}),
)


ScreeningSummary = _record(
    "ScreeningSummary",
    "id cssrs_risk phq9_band gad7_band",
    completed_at=_at(),
    flags=_strings(),
    risk_level=fields.String(metadata={"enum": list(screening.RISK_LEVELS)}),
    phq9_total=_int(),
    phq9_self_harm_thoughts=_bool(),
    gad7_total=_int(),
    ders16_total=fields.Integer(allow_none=True),
    bsl23_mean=fields.Float(allow_none=True),
    bsl23_band=fields.String(allow_none=True),
)


Eligibility = _record("Eligibility", "decision reason decided_by", decided_at=_at())


Commitment = _record(
    "Commitment",
    "recorded_by",
    orientation_sessions=_int(),
    committed_at=_at(),
    **{name: _bool() for name in pipeline.AGREEMENTS},
)


TherapistAssignment = _record(
    "TherapistAssignment", "clinician_id method assigned_by", reasons=_strings(), assigned_at=_at()
)


Admission = _record(
    "Admission",
    "program_id admitted_by",
    availability=fields.List(fields.Nested(Availability)),
    admitted_at=_at(),
)


Withdrawal = _record(
    "Withdrawal",
    "reason withdrawn_by from_status",
    note=fields.String(allow_none=True),
    withdrawn_at=_at(),
)


StatusChange = _record("StatusChange", "status by", at=_at())


_STEPS = {
    "eligibility": Eligibility,
    "commitment": Commitment,
    "therapist": TherapistAssignment,
    "admission": Admission,
    "withdrawal": Withdrawal,
}


Referral = _record(
    "Referral",
    "site_id program source",
    id=_id(),
    allowed_actions=_strings(),
    status=fields.String(metadata={"enum": list(pipeline.STATUSES)}),
    consent_to_contact=_bool(),
    received_at=_at(),
    client=fields.Nested(Client),
    screenings=fields.List(fields.Nested(ScreeningSummary)),
    **{name: fields.Nested(step, allow_none=True) for name, step in _STEPS.items()},
    history=fields.List(fields.Nested(StatusChange)),
    possible_duplicates=fields.List(
        fields.String(),
        metadata={
            "description": "in the answer to its recording only: the site's other open "
            "referrals of the same person (same names and date of birth)"
        },
    ),
)


# A list row: no client details (open the referral to see them).
ReferralSummary = _record(
    "ReferralSummary",
    "site_id program status source",
    id=_id(),
    received_at=_at(),
    therapist_id=fields.String(attribute="therapist.clinician_id", allow_none=True),
    display_name=fields.String(
        allow_none=True,
        metadata={"description": "the client's name, for the page only (on the audit trail)"},
    ),
)


ReferralPage = page_of(ReferralSummary)


SafetyResource = _record("SafetyResource", "name contact when")


ScreeningResult = _record(
    "ScreeningResult",
    "referral_id referral_status",
    base=ScreeningSummary,
    needs_immediate_response=_bool(),
    safety_resources=fields.List(fields.Nested(SafetyResource)),
)


WaitlistEntry = _record(
    "WaitlistEntry",
    "program",
    referral_id=fields.String(attribute="_id"),
    received_at=_at(),
    stage=fields.String(attribute="status", metadata={"enum": list(pipeline.WAITING_STAGES)}),
    waiting_days=_int(),
    display_name=fields.String(
        allow_none=True,
        metadata={"description": "the client's name, for the page only (on the audit trail)"},
    ),
)


StageCount = _record("StageCount", "stage", count=_int())


Waitlist = _record(
    "Waitlist",
    "site_id",
    base=Page,
    stages=fields.List(fields.Nested(StageCount)),
    items=fields.List(fields.Nested(WaitlistEntry)),
)


ClinicianContact = _record(
    "ClinicianContact",
    "clinician_id site_id timezone",
    channels=fields.Dict(
        keys=fields.String(), values=fields.String(), metadata={"example": {"sms": "+13125550199"}}
    ),
)
ClientContact = _record(
    "ClientContact",
    "client_id site_id preferred_channel language timezone",
    channels=fields.Dict(
        keys=fields.String(), values=fields.String(), metadata={"example": {"email": "a@b.org"}}
    ),
)


AuditRecord, AuditPage = audit.AuditRecord, audit.AuditPage  # the same in every service
