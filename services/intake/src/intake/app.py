"""Intake api: ``gunicorn 'intake.app:create_app()'``."""

from __future__ import annotations

from flask import Flask
from marshmallow import fields

from dbt_shared import idempotency
from dbt_shared.auth import current_principal
from dbt_shared.web import create_service_app
from intake import api, bootstrap, repository
from intake.protection import StoredResponseSealer
from intake.services import referrals

# The extension members intake's problems carry (see intake.domain.referral).
PROBLEM_MEMBERS = {
    "current_status": fields.String(metadata={"description": "the referral's status"}),
    "action": fields.String(metadata={"description": "the step that was refused"}),
    "reasons": fields.List(fields.String(), metadata={"description": "why, in plain words"}),
}


def create_app(components: bootstrap.Components | None = None) -> Flask:
    app = create_service_app(
        "intake",
        title="DBT Platform - Intake",
        description=(
            "Sites, programs and clinicians; referrals from receipt through screening, "
            "eligibility, commitment and therapist matching to admission; client contact "
            "details (the only holder of client PHI, encrypted at rest); the audit trail."
        ),
        blueprints=api.BLUEPRINTS,
        components=components,
        problem_members=PROBLEM_MEMBERS,
        on_start=None if components else lambda ctx: repository.ensure_indexes(ctx.db),
    )
    wired = components or bootstrap.bootstrap(app.extensions["dbt"].db)
    app.extensions["dbt.components"] = wired
    app.extensions[idempotency.SEALER_EXTENSION] = StoredResponseSealer(wired.cipher)
    app.extensions[idempotency.REPLAY_HOOK_EXTENSION] = lambda path, resource_id: (
        referrals.replayed(resource_id, wired, current_principal())
        if path == "/v1/referrals"
        else None
    )
    return app
