"""Notifications api: ``gunicorn 'notifications.app:create_app()'``."""

from __future__ import annotations

from flask import Flask

from dbt_shared.bootstrap import service_app
from notifications import api, bootstrap, events, repository


def create_app(components: bootstrap.Components | None = None) -> Flask:
    """The api on ``components``: the processes' own unless a test passes ``in_memory(clock)``."""
    return service_app(events, api, repository, components or bootstrap.bootstrap())
