"""Intake's HTTP API, one module per resource: parse, authorise, call a use case, serialise.

Operators set up sites, programs and clinicians; coordinators of a site take its referrals from
receipt to admission; the ``service`` role reads a client's contact channels at send time;
operators read the audit trail.
"""

from __future__ import annotations

from intake.api import figures, lookups, oversight, referral_steps, referrals, sites, staff

TITLE = "DBT Platform - Intake"
DESCRIPTION = (
    "Sites, programs and clinicians; referrals from receipt through screening, eligibility, "
    "commitment and therapist matching to admission; client contact details (the only holder "
    "of client PHI, encrypted at rest); the audit trail."
)
BLUEPRINTS = [
    sites.blp,
    lookups.blp,
    referrals.blp,
    referral_steps.blp,
    oversight.blp,
    staff.blp,
    figures.blp,
]
