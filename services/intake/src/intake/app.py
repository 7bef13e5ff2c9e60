"""Intake api: ``gunicorn 'intake.app:create_app()'``."""

from __future__ import annotations

from flask import Flask

from dbt_shared import idempotency
from dbt_shared.web import create_service_app
from intake import api, store
from intake.protection import FieldCipher, StoredResponseSealer


def create_app() -> Flask:
    cipher = FieldCipher.from_env()  # fail at start-up, not on the first referral
    app = create_service_app(
        "intake",
        title="DBT Platform - Intake",
        description=(
            "Sites, programs and clinicians; referrals from receipt through screening, "
            "eligibility, commitment and therapist matching to admission; client contact "
            "details (the only holder of client PHI, encrypted at rest); the audit trail."
        ),
        blueprints=[api.sites, api.referrals, api.clients, api.oversight],
        on_start=lambda ctx: store.ensure_indexes(ctx.db),
    )
    app.extensions["intake.cipher"] = cipher
    app.extensions[idempotency.SEALER_EXTENSION] = StoredResponseSealer(cipher)
    app.extensions[idempotency.REPLAY_HOOK_EXTENSION] = api.audit_replay
    return app
