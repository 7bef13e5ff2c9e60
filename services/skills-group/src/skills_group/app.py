"""Skills Group api: ``gunicorn 'skills_group.app:create_app()'``."""

from __future__ import annotations

from flask import Flask
from marshmallow import fields

from dbt_shared.bootstrap import service_app
from skills_group import api, events, repository
from skills_group.bootstrap import Components, bootstrap

# What skills-group's problems say beyond RFC 9457's members.
PROBLEM_MEMBERS = {
    "conflicting_session_id": fields.String(
        metadata={"description": "the session a room or facilitator is taken by then"}
    ),
}


def create_app(components: Components | None = None) -> Flask:
    """The api on ``components``: the processes' own unless a test passes ``in_memory(clock)``."""
    return service_app(
        events, api, repository, components or bootstrap(), problem_members=PROBLEM_MEMBERS
    )
