"""Skills Group's HTTP api: the ``/v1`` resources it serves and its OpenAPI title.

Today only the sites and programs it has learned from intake (``dbt_shared.site_directory``:
``GET /v1/sites``, ``GET /v1/sites/{site_id}/programs``). Each resource of its own gets a module
here, ``api/<resource>.py``, with its blueprint added to ``BLUEPRINTS``.
"""

from __future__ import annotations

from dbt_shared import site_directory

TITLE = "DBT Platform - Skills Group"
DESCRIPTION = "Skills groups: curricula, groups, calendars, enrollments, waitlist and attendance."
BLUEPRINTS = [site_directory.blueprint()]
