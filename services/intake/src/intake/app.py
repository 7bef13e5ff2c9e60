"""Intake api: ``gunicorn 'intake.app:create_app()'``."""

from __future__ import annotations

from flask import Flask, request
from marshmallow import fields

from dbt_shared import idempotency
from dbt_shared.auth import current_principal
from dbt_shared.bootstrap import service_app
from dbt_shared.protection import StoredResponseSealer
from intake import api, events, repository
from intake.bootstrap import Components, bootstrap
from intake.services import referrals

# The extension members intake's problems carry (see intake.domain.referral).
PROBLEM_MEMBERS = {
    "current_status": fields.String(metadata={"description": "the referral's status"}),
    "action": fields.String(metadata={"description": "the step that was refused"}),
    "reasons": fields.List(fields.String(), metadata={"description": "why, in plain words"}),
}


def create_app(components: Components | None = None) -> Flask:
    """The api on ``components``: the processes' own unless a test passes ``in_memory(clock)``."""
    wired = components or bootstrap()
    app = service_app(events, api, repository, wired, problem_members=PROBLEM_MEMBERS)
    # Stored first responses hold client data: sealed at rest, and a replay is audited.
    app.extensions[idempotency.SEALER_EXTENSION] = StoredResponseSealer(wired.cipher)
    app.extensions[idempotency.REPLAY_HOOK_EXTENSION] = lambda path, resource_id: _replayed(
        wired, resource_id
    )
    return app


def _replayed(wired: Components, resource_id: str) -> None:
    """Audit a replayed answer that shows client data (a referral, a screening's result)
    before it goes; a site's or a clinician's holds none."""
    if request.endpoint == "referrals.Referrals":
        referrals.replayed(resource_id, wired, current_principal())
    elif request.endpoint == "referral_steps.Screenings":
        referrals.screening_replayed(request.view_args["referral_id"], wired, current_principal())
