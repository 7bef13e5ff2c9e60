"""The console's pages, one module per part of the clinic's work."""

from console.views import (
    api_docs,
    auth,
    clinicians,
    inbox,
    organisation,
    pages,
    programs,
    referral_steps,
    referrals,
    staff,
)

BLUEPRINTS = [
    pages.blp,
    auth.blp,
    organisation.blp,
    referrals.blp,
    referral_steps.blp,
    clinicians.blp,
    staff.blp,
    programs.blp,
    inbox.blp,
    api_docs.blp,
]
