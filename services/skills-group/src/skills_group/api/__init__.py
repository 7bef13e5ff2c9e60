"""Skills Group's HTTP api: the ``/v1`` resources it serves and its OpenAPI title.

The sites and programs it has learned from intake (``dbt_shared.site_directory``), groups and
their calendars (``groups``), single sessions and their attendance (``sessions``), and members,
the waitlist and closures (``members``); the audit trail (``dbt_shared.audit``).
"""

from __future__ import annotations

from dbt_shared import audit, site_directory
from dbt_shared.web import components
from skills_group.api import feeds, figures, groups, members, rosters, sessions

TITLE = "DBT Platform - Skills Group"
DESCRIPTION = "Skills groups: curricula, groups, calendars, enrollments, waitlist and attendance."
BLUEPRINTS = [
    site_directory.blueprint(),
    groups.blp,
    sessions.blp,
    members.blp,
    rosters.blp,
    feeds.blp,
    feeds.calendar,
    figures.blp,
    audit.blueprint(
        lambda: components().repositories.audit, "which client's enrollment or attendance"
    ),
]
