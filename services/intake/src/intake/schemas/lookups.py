"""HTTP schemas of intake's look-ups for staff pages: the same person's open referrals at a site,
and several clients' display names at once. Client details travel in bodies, never in URLs."""

from __future__ import annotations

import copy

from marshmallow import Schema, fields

from dbt_shared import http_fields
from intake.schemas.requests import EXAMPLE_ID, ClientIn

# A list page's clients: bounded by a page, not by history.
MAX_CLIENT_IDS = 100
# The clinicians one page names (the leaders of every group at the caller's sites): bounded by
# the organisation's staff, not by history.
MAX_CLINICIAN_IDS = 500


class DuplicateCheckIn(Schema):
    site_id = http_fields.Id(required=True, metadata={"example": EXAMPLE_ID})
    # the same rules as a referral's client (a copy of each field: a field has one schema)
    given_name = copy.deepcopy(ClientIn._declared_fields["given_name"])
    family_name = copy.deepcopy(ClientIn._declared_fields["family_name"])
    date_of_birth = copy.deepcopy(ClientIn._declared_fields["date_of_birth"])


class DuplicateCheck(Schema):
    site_id = fields.String(metadata={"example": EXAMPLE_ID})
    possible_duplicates = fields.List(
        fields.String(),
        metadata={
            "description": "the site's open referrals of a person with the same names and date "
            "of birth (case, accents' forms and spacing aside)"
        },
    )


class DisplayNamesIn(Schema):
    client_ids = http_fields.List(
        http_fields.Id(),
        required=True,
        min_items=1,
        max_items=MAX_CLIENT_IDS,
        metadata={"description": "client ids (= referral ids), those of one list page"},
    )


class DisplayName(Schema):
    client_id = fields.String(metadata={"example": EXAMPLE_ID})
    display_name = fields.String(metadata={"example": "Alex Rivera"})


class DisplayNames(Schema):
    items = fields.List(
        fields.Nested(DisplayName),
        metadata={"description": "those of the ids the caller may see, in the order asked"},
    )


class ClinicianNamesIn(Schema):
    clinician_ids = http_fields.List(
        http_fields.Id(),
        required=True,
        min_items=1,
        max_items=MAX_CLINICIAN_IDS,
        metadata={"description": "clinician ids, those one page shows (a group's leaders)"},
    )


class ClinicianName(Schema):
    clinician_id = fields.String(metadata={"example": EXAMPLE_ID})
    site_id = fields.String(metadata={"example": EXAMPLE_ID})
    display_name = fields.String(metadata={"example": "Dr. Ana Ortiz"})
    subject = fields.String(
        metadata={"description": "the clinician's sign-in subject (a page finds the caller's own)"}
    )


class ClinicianNames(Schema):
    items = fields.List(
        fields.Nested(ClinicianName),
        metadata={"description": "those of the ids at the caller's sites, in the order asked"},
    )


__all__ = [
    "MAX_CLIENT_IDS",
    "MAX_CLINICIAN_IDS",
    "ClinicianName",
    "ClinicianNames",
    "ClinicianNamesIn",
    "DisplayName",
    "DisplayNames",
    "DisplayNamesIn",
    "DuplicateCheck",
    "DuplicateCheckIn",
]
