"""Intake api: ``gunicorn 'intake.app:create_app()'``."""

from __future__ import annotations

from flask import Flask

from dbt_shared.web import create_service_app
from intake import api, store


def create_app() -> Flask:
    return create_service_app(
        "intake",
        title="DBT Platform - Intake",
        description="Sites, referrals and client contact details (the only holder of client PHI).",
        blueprints=[api.sites, api.referrals],
        on_start=lambda ctx: store.ensure_indexes(ctx.db),
    )
