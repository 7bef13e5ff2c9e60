"""Notifications api: ``gunicorn 'notifications.app:create_app()'``."""

from __future__ import annotations

from flask import Flask

from dbt_shared import mongo
from dbt_shared.bootstrap import service_app
from dbt_shared.clock import SystemClock
from dbt_shared.config import Settings
from notifications import api, bootstrap, events, repository


def create_app(components: bootstrap.Components | None = None) -> Flask:
    """The api on ``components``: the processes' own unless a test passes ``in_memory(clock)``."""
    if components is None:
        settings = Settings.from_env(events.SERVICE)
        db = mongo.database(settings.mongodb_uri, settings.mongodb_database)
        components = bootstrap.bootstrap(settings, db, SystemClock())
    return service_app(events, api, repository, components)
