"""The console's pages, one module per part of the clinic's work."""

from console.views import (
    api_docs,
    auth,
    caseload,
    clinicians,
    coaching,
    inbox,
    organisation,
    pages,
    programs,
    referral_steps,
    referrals,
    rota,
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
    coaching.blp,
    rota.blp,
    caseload.blp,
]
