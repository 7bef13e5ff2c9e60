"""Intake api: ``gunicorn 'intake.app:create_app()'``."""

from __future__ import annotations

from flask import Flask
from marshmallow import fields

from dbt_shared.bootstrap import service_app
from intake import api, events, repository
from intake.bootstrap import Components, bootstrap

# The extension members intake's problems carry (see intake.domain.referral).
PROBLEM_MEMBERS = {
    "current_status": fields.String(metadata={"description": "the referral's status"}),
    "action": fields.String(metadata={"description": "the step that was refused"}),
    "reasons": fields.List(fields.String(), metadata={"description": "why, in plain words"}),
}


def create_app(components: Components | None = None) -> Flask:
    """The api on ``components``: the processes' own unless a test passes ``in_memory(clock)``."""
    wired = components or bootstrap()
    # Stored first responses hold client data: sealed at rest by the components' idempotency,
    # and the views whose replay shows client data again audit it (intake.api.common).
    return service_app(events, api, repository, wired, problem_members=PROBLEM_MEMBERS)
