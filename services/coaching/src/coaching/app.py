"""Coaching api: ``gunicorn 'coaching.app:create_app()'``."""

from __future__ import annotations

from flask import Flask

from coaching import api, events, repository
from coaching.bootstrap import Components, bootstrap
from dbt_shared.bootstrap import service_app


def create_app(components: Components | None = None) -> Flask:
    """The api on ``components``: the processes' own unless a test passes ``in_memory(clock)``."""
    return service_app(events, api, repository, components or bootstrap())
