"""Intake's request schemas: every rule a request must keep, stated so the document says it.

Value sets come from the domain and the event contracts; formats are patterns the server checks
as written (``dbt_shared.http_fields``); a rule between two fields is in the document too
(``Meta.json_schema``) or, where JSON Schema cannot say it, in its description.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import available_timezones

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from dbt_shared import audit, http_fields
from dbt_shared.auth import ROLES
from dbt_shared.contracts import notifications
from dbt_shared.contracts.intake import PROGRAMS, WEEKDAYS, WITHDRAWAL_REASONS
from dbt_shared.http_fields import IsoDate, JsonInteger, JsonNumber, Pattern, StrictBoolean
from dbt_shared.pagination import PageArgs
from intake.domain import pipeline, programs, screening
from intake.domain.rules import plausible_birth_date

EXAMPLE_ID = "01a214d7-2efe-7325-a9cf-f6c3557e6e63"


_PHONE = Pattern(r"^\+?[0-9][0-9 ().-]{6,19}$", error="Not a phone number, e.g. +1 312 555 0100.")


_LANGUAGE = Pattern(r"^[a-z]{2,3}(-[A-Z]{2})?$", error="A language code such as en or es.")


_HHMM = Pattern(r"^([01][0-9]|2[0-3]):[0-5][0-9]$", error="Use 24-hour HH:MM.")


CHANNELS = tuple(c for c in notifications.CHANNELS if c != "inbox")  # reaching the client


CLINICIAN_ROLES = tuple(r for r in ROLES if r in ("therapist", "facilitator"))


TIMEZONES = tuple(sorted(available_timezones()))


def _at_least_one_field(value: dict) -> None:
    if not value:
        raise ValidationError("Send at least one field to change.")


def _curriculum_pattern(modules) -> str:
    """Blocks such as ``DT6`` (a module code, 1-99 weeks), one space apart, one of them
    mindfulness (``M``): the week a new member may join."""
    block = "(?:" + "|".join(sorted(modules, key=len, reverse=True)) + ")[1-9][0-9]?"
    return f"^(?:{block} )*M[1-9][0-9]?(?: {block})*$"


CURRICULUM = _curriculum_pattern(programs.MODULES)


# The pattern has no bound of its own (blocks repeat) and backtracks: longer text is refused
# before it runs (``http_fields.String``), and the domain's parser refuses it too.
CURRICULUM_MAX = programs.CURRICULUM_MAX


# Modules of adolescent programs only (Walking the Middle Path) are no part of the others.
CURRICULUM_WITHOUT_ADOLESCENT_MODULES = _curriculum_pattern(
    set(programs.MODULES) - programs.ADOLESCENT_ONLY_MODULES
)


KINDS_WITHOUT_ADOLESCENT_MODULES = [k for k in programs.PROGRAM_KINDS if k != "adolescent"]


# The pattern is written once, when the service starts, and the check uses the same day.
_TODAY = datetime.now(UTC).date()


BIRTH_DATES = http_fields.date_between(date(_TODAY.year - 120, 1, 1), _TODAY)


# -- sites ----------------------------------------------------------------------------------
class ContactPerson(Schema):
    name = http_fields.Text(required=True, validate=validate.Length(1, 120))
    email = http_fields.Email(required=True)
    phone = fields.String(load_default=None, allow_none=True, validate=_PHONE)


class SiteIn(Schema):
    name = http_fields.Text(
        required=True, validate=validate.Length(1, 120), metadata={"example": "Riverside Clinic"}
    )
    timezone = fields.String(
        required=True,
        validate=validate.OneOf(TIMEZONES, error="Not an IANA time zone name."),
        metadata={"example": "America/Chicago"},
    )
    intake_email = http_fields.Email(
        required=True, metadata={"example": "intake@riverside.example"}
    )
    clinical_lead = fields.Nested(
        ContactPerson,
        load_default=None,
        allow_none=True,
        metadata={"description": "who is alerted at once, any hour, about high-risk screenings"},
    )
    phone_region = fields.String(
        validate=Pattern(r"^[A-Z]{2}$", error="An ISO 3166 country code such as US."),
        metadata={
            "description": "the country of phone numbers written without a country code "
            "(stored in E.164); by default the country of the site's time zone",
            "example": "US",
        },
    )


class SitePatch(Schema):
    """An operator's change of a site: only the fields sent change (``clinical_lead: null``
    removes the lead)."""

    name = http_fields.Text(validate=validate.Length(1, 120), metadata={"example": "Riverside"})
    timezone = fields.String(
        validate=validate.OneOf(TIMEZONES, error="Not an IANA time zone name."),
        metadata={"example": "America/Chicago"},
    )
    intake_email = http_fields.Email(metadata={"example": "intake@riverside.example"})
    clinical_lead = fields.Nested(ContactPerson, allow_none=True)
    phone_region = fields.String(
        validate=Pattern(r"^[A-Z]{2}$", error="An ISO 3166 country code such as US."),
        metadata={"description": "the country of phone numbers written without a country code"},
    )

    class Meta:
        json_schema = {"minProperties": 1}

    @validates_schema
    def _something(self, data: dict, **_: object) -> None:
        _at_least_one_field(data)


# -- programs -------------------------------------------------------------------------------
ProgramSettingsIn = Schema.from_dict(
    {
        **{n: JsonInteger(validate=validate.Range(*r)) for n, r in programs.SETTING_RANGES.items()},
        **{name: StrictBoolean() for name in programs.SWITCHES},
        **{n: fields.String(validate=validate.OneOf(v)) for n, v in programs.CHOICES.items()},
        "curriculum": http_fields.String(
            validate=Pattern(CURRICULUM, error="Not a curriculum.", max_length=CURRICULUM_MAX),
            metadata={
                "example": programs.ADULT_CURRICULUM,
                "description": "module blocks with week counts (M, DT, ER, IE; WMP in "
                "adolescent programs only), one space apart, at least one mindfulness (M) block",
            },
        ),
    },
    name="ProgramSettingsIn",
)


class ProgramIn(Schema):
    class Meta:
        json_schema = http_fields.when(
            "kind",
            KINDS_WITHOUT_ADOLESCENT_MODULES,
            then={"settings.curriculum": {"pattern": CURRICULUM_WITHOUT_ADOLESCENT_MODULES}},
        )

    kind = fields.String(required=True, validate=validate.OneOf(programs.PROGRAM_KINDS))
    settings = fields.Nested(
        ProgramSettingsIn,
        load_default=dict,
        metadata={"description": "overrides of the standard DBT defaults"},
    )


class ProgramPatch(Schema):
    settings = fields.Nested(
        ProgramSettingsIn,
        required=True,
        validate=_at_least_one_field,
        metadata={"minProperties": 1, "description": "the settings to change"},
    )


# -- clinicians -----------------------------------------------------------------------------
class ClinicianIn(Schema):
    subject = http_fields.Text(required=True, validate=validate.Length(1, 200))  # the IdP's sub
    display_name = http_fields.Text(required=True, validate=validate.Length(1, 120))
    roles = http_fields.List(
        fields.String(validate=validate.OneOf(CLINICIAN_ROLES)),
        required=True,
        min_items=1,
        max_items=len(CLINICIAN_ROLES),
    )
    programs = http_fields.List(
        fields.String(validate=validate.OneOf(PROGRAMS)),
        load_default=lambda: list(PROGRAMS),
        max_items=len(PROGRAMS),
    )
    languages = http_fields.List(
        fields.String(validate=_LANGUAGE),
        load_default=lambda: ["en"],
        min_items=1,
        max_items=20,  # the languages one clinician offers sessions in
    )
    caseload_limit = JsonInteger(load_default=10, validate=validate.Range(0, 100))
    # Work contact for notifications (coaching pages, attendance alerts): read by the service
    # role at send time, never put in an event.
    email = http_fields.Email(
        load_default=None, allow_none=True, metadata={"example": "ana@clinic.org"}
    )
    phone = fields.String(load_default=None, allow_none=True, validate=_PHONE)


# -- referrals ------------------------------------------------------------------------------
def _plausible(born: date) -> None:
    if not plausible_birth_date(born, _TODAY):
        raise ValidationError("Date of birth must be in the past and within 120 years.")


class ClientIn(Schema):
    given_name = http_fields.Text(required=True, validate=validate.Length(1, 100))
    family_name = http_fields.Text(required=True, validate=validate.Length(1, 100))
    date_of_birth = IsoDate(required=True, validate=_plausible, metadata={"pattern": BIRTH_DATES})
    email = http_fields.Email(required=True, metadata={"example": "client@example.org"})
    phone = fields.String(required=True, validate=_PHONE, metadata={"example": "+1 312 555 0100"})
    preferred_channel = fields.String(load_default="email", validate=validate.OneOf(CHANNELS))
    language = fields.String(load_default="en", validate=_LANGUAGE)


class ReferralIn(Schema):
    site_id = http_fields.Id(required=True, metadata={"example": EXAMPLE_ID})
    program = fields.String(required=True, validate=validate.OneOf(PROGRAMS))
    source = http_fields.Text(required=True, validate=validate.Length(1, 200))  # self, GP...
    consent_to_contact = StrictBoolean(
        required=True,
        validate=validate.Equal(True, error="The client's consent to be contacted is required."),
        metadata={"enum": [True]},
    )
    client = fields.Nested(ClientIn, required=True)


class ReferralPatch(Schema):
    client = fields.Nested(
        # Every field optional and without defaults: only what is sent changes.
        ClientIn(partial=True),
        required=True,
        validate=_at_least_one_field,
        metadata={"minProperties": 1, "description": "the contact details to correct"},
    )


class Availability(Schema):
    class Meta:
        # JSON Schema cannot compare two fields; the document says it in words.
        json_schema = {"description": "a weekly window; end is later than start (422 if not)"}

    weekday = fields.String(required=True, validate=validate.OneOf(WEEKDAYS))
    start = fields.String(required=True, validate=_HHMM, metadata={"example": "17:00"})
    end = fields.String(required=True, validate=_HHMM, metadata={"example": "21:00"})

    @validates_schema
    def _end_after_start(self, data, **_kwargs) -> None:
        if data["start"] >= data["end"]:
            raise ValidationError("The end must be after the start.", field_name="end")


class ReferralListArgs(PageArgs):
    site_id = http_fields.Id()
    status = fields.String(validate=validate.OneOf(pipeline.STATUSES))
    program = fields.String(validate=validate.OneOf(PROGRAMS))


# -- pipeline steps -------------------------------------------------------------------------
def _answers(item: fields.Field, count: int, what: str) -> fields.List:
    error = f"{what} has {count} items."
    return fields.List(item, required=True, validate=validate.Length(equal=count, error=error))


class ScreeningIn(Schema):
    cssrs = _answers(StrictBoolean(), 6, "The C-SSRS screener")  # items 1-6, yes = true
    phq9 = _answers(JsonInteger(validate=validate.Range(0, 3)), 9, "PHQ-9")
    gad7 = _answers(JsonInteger(validate=validate.Range(0, 3)), 7, "GAD-7")
    ders16_total = JsonInteger(
        load_default=None, allow_none=True, validate=validate.Range(*screening.DERS16_RANGE)
    )
    bsl23_mean = JsonNumber(load_default=None, allow_none=True, validate=validate.Range(0, 4))


class EligibilityIn(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(pipeline.ELIGIBILITY_DECISIONS))
    reason = http_fields.Note(required=True, validate=validate.Length(1, 2000))


def _agreed(name: str) -> StrictBoolean:
    """An agreement commitment needs: ``true`` (a client who has not agreed has not committed)."""
    error = f"Needed before admission: {pipeline.AGREEMENTS[name]}."
    return StrictBoolean(
        required=True, validate=validate.Equal(True, error=error), metadata={"enum": [True]}
    )


class CommitmentIn(Schema):
    orientation_sessions = JsonInteger(
        required=True, validate=validate.Range(*pipeline.ORIENTATION_SESSIONS)
    )
    all_modes = _agreed("all_modes")  # group, individual, coaching, consultation
    four_miss_rule = _agreed("four_miss_rule")
    consent_to_treatment = _agreed("consent_to_treatment")


class TherapistIn(Schema):
    clinician_id = http_fields.Id(load_default=None, allow_none=True)  # to choose by hand
    preferred_clinician_id = http_fields.Id(load_default=None, allow_none=True)
    language = fields.String(load_default=None, allow_none=True, validate=_LANGUAGE)


class AdmissionIn(Schema):
    availability = http_fields.List(
        fields.Nested(Availability),
        required=True,
        # A week's windows: a few a day is plenty; the bound keeps the admission event small.
        max_items=50,
        validate=validate.Length(min=1, error="Give at least one time the client can attend."),
    )


class WithdrawalIn(Schema):
    reason = fields.String(required=True, validate=validate.OneOf(WITHDRAWAL_REASONS))
    note = http_fields.Note(load_default=None, allow_none=True, validate=validate.Length(max=2000))


# -- waitlist, contact, audit ---------------------------------------------------------------
class WaitlistArgs(PageArgs):
    site_id = http_fields.Id(required=True)
    program = fields.String(validate=validate.OneOf(PROGRAMS))


AuditArgs = audit.AuditArgs  # the trail's filters, the same in every service
