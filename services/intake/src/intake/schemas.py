"""Intake's HTTP schemas: request validation, response shape and OpenAPI, in one place."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates

from dbt_shared.web import context
from intake.domain import PROGRAMS, is_known_timezone, plausible_birth_date

_ID_EXAMPLE = "01a214d7-2efe-7325-a9cf-f6c3557e6e63"


class SiteIn(Schema):
    name = fields.String(
        required=True, validate=validate.Length(1, 120), metadata={"example": "Riverside Clinic"}
    )
    timezone = fields.String(required=True, metadata={"example": "America/Chicago"})
    intake_email = fields.Email(required=True, metadata={"example": "intake@riverside.example.org"})

    @validates("timezone")
    def _known_zone(self, value: str, **_kwargs) -> None:
        if not is_known_timezone(value):
            raise ValidationError("Not an IANA time zone name, e.g. America/Chicago.")


class Site(Schema):
    id = fields.String(attribute="_id", metadata={"example": _ID_EXAMPLE})
    name = fields.String()
    timezone = fields.String()
    intake_email = fields.Email()
    created_at = fields.DateTime()


class SitePage(Schema):
    items = fields.List(fields.Nested(Site))
    next_cursor = fields.String(allow_none=True)


class ClientIn(Schema):
    given_name = fields.String(required=True, validate=validate.Length(1, 100))
    family_name = fields.String(required=True, validate=validate.Length(1, 100))
    date_of_birth = fields.Date(required=True, metadata={"example": "1994-03-17"})
    email = fields.Email(required=True, metadata={"example": "client@example.org"})
    phone = fields.String(
        required=True,
        validate=validate.Regexp(
            r"^\+?[0-9][0-9 ().-]{6,19}$", error="Not a phone number, e.g. +1 312 555 0100."
        ),
        metadata={"example": "+1 312 555 0100"},
    )

    @validates("date_of_birth")
    def _plausible(self, value, **_kwargs) -> None:
        if not plausible_birth_date(value, context().clock.now().date()):
            raise ValidationError("Date of birth must be in the past and within 120 years.")


class ReferralIn(Schema):
    site_id = fields.String(required=True, metadata={"example": _ID_EXAMPLE})
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


class Client(Schema):
    given_name = fields.String()
    family_name = fields.String()
    # Stored as the ISO date string it was given (BSON has no date-only type).
    date_of_birth = fields.String(metadata={"format": "date", "example": "1994-03-17"})
    email = fields.Email()
    phone = fields.String()


class Referral(Schema):
    id = fields.String(attribute="_id", metadata={"example": _ID_EXAMPLE})
    site_id = fields.String()
    program = fields.String()
    source = fields.String()
    status = fields.String(metadata={"example": "received"})
    consent_to_contact = fields.Boolean()
    received_at = fields.DateTime()
    client = fields.Nested(Client)


class SiteListArgs(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(load_default=None)
