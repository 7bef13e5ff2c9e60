"""Intake's HTTP schemas (Marshmallow): request validation, response shape and OpenAPI.

``requests`` states every rule a request must keep, so the OpenAPI document says all of it;
``responses`` the shapes the server writes. Both are read from here, as ``intake.schemas``.
"""

from dbt_shared.pagination import PageArgs
from intake.schemas.requests import (
    AdmissionIn,
    AuditArgs,
    Availability,
    ClientIn,
    ClinicianIn,
    CommitmentIn,
    ContactPerson,
    EligibilityIn,
    ProgramIn,
    ProgramPatch,
    ProgramSettingsIn,
    ReferralIn,
    ReferralListArgs,
    ReferralPatch,
    ScreeningIn,
    SiteIn,
    SitePatch,
    TherapistIn,
    WaitlistArgs,
    WithdrawalIn,
)
from intake.schemas.responses import (
    Admission,
    AuditPage,
    AuditRecord,
    Client,
    ClientContact,
    Clinician,
    ClinicianContact,
    ClinicianPage,
    Commitment,
    Eligibility,
    Program,
    ProgramPage,
    ProgramSettings,
    Referral,
    ReferralPage,
    ReferralSummary,
    SafetyResource,
    ScreeningResult,
    ScreeningSummary,
    Site,
    SitePage,
    StageCount,
    StatusChange,
    TherapistAssignment,
    Waitlist,
    WaitlistEntry,
    Withdrawal,
)

__all__ = [
    "Admission", "AdmissionIn", "AuditArgs", "AuditPage", "AuditRecord", "Availability",
    "Client", "ClientContact", "ClientIn", "Clinician", "ClinicianContact", "ClinicianIn",
    "ClinicianPage",
    "Commitment", "CommitmentIn", "ContactPerson", "Eligibility", "EligibilityIn", "PageArgs",
    "Program", "ProgramIn", "ProgramPage", "ProgramPatch", "ProgramSettings",
    "ProgramSettingsIn", "Referral", "ReferralIn", "ReferralListArgs", "ReferralPage",
    "ReferralPatch", "ReferralSummary", "SafetyResource", "ScreeningIn", "ScreeningResult",
    "ScreeningSummary", "Site", "SiteIn", "SitePage",
    "SitePatch", "StageCount", "StatusChange",
    "TherapistAssignment", "TherapistIn", "Waitlist", "WaitlistArgs", "WaitlistEntry",
    "Withdrawal", "WithdrawalIn",
]  # fmt: skip
