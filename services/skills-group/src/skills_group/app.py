"""Skills Group api: ``gunicorn 'skills_group.app:create_app()'``."""

from __future__ import annotations

from flask import Flask

from dbt_shared import site_directory
from dbt_shared.web import create_service_app
from skills_group import store


def create_app() -> Flask:
    return create_service_app(
        "skills-group",
        title="DBT Platform - Skills Group",
        description=(
            "Skills groups: curricula, groups, calendars, enrollments, waitlist and attendance."
        ),
        blueprints=[site_directory.blueprint()],
        on_start=lambda ctx: store.ensure_indexes(ctx.db),
    )
