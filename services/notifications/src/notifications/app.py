"""Notifications api: ``gunicorn 'notifications.app:create_app()'``."""

from __future__ import annotations

from flask import Flask

from dbt_shared import site_directory
from dbt_shared.web import create_service_app
from notifications import api, store


def create_app() -> Flask:
    return create_service_app(
        "notifications",
        title="DBT Platform - Notifications",
        description="Site inboxes, channel preferences, reminders and the delivery audit.",
        blueprints=[api.inbox, site_directory.blueprint()],
        on_start=lambda ctx: store.ensure_indexes(ctx.db),
    )
