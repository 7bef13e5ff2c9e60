"""Intake's HTTP API, one module per resource: parse, authorise, call a use case, serialise.

Operators set up sites, programs and clinicians; coordinators of a site take its referrals from
receipt to admission; the ``service`` role reads a client's contact channels at send time;
operators read the audit trail.
"""

from __future__ import annotations

from intake.api import oversight, referral_steps, referrals, sites

BLUEPRINTS = [sites.blp, referrals.blp, referral_steps.blp, oversight.blp]
