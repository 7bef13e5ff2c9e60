"""Coaching api: ``gunicorn 'coaching.app:create_app()'``."""

from __future__ import annotations

from flask import Flask

from coaching import store
from dbt_shared import site_directory
from dbt_shared.web import create_service_app


def create_app() -> Flask:
    return create_service_app(
        "coaching",
        title="DBT Platform - Coaching",
        description=(
            "Phone coaching: on-call rotas, coaching requests, diary cards and alliance check-ins."
        ),
        blueprints=[site_directory.blueprint()],
        on_start=lambda ctx: store.ensure_indexes(ctx.db),
    )
