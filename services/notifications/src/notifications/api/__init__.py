"""Notifications' HTTP api: the ``/v1`` resources it serves and its OpenAPI title.

One module per resource: ``inbox`` (a site's inbox), ``site_inbox`` (its read marks and
unread count), ``people`` (a person's own
inbox, preferences, a site's settings, the delivery audit, the SMS webhook); the audit trail
(``GET /v1/audit``) is ``dbt_shared.audit``'s. The sites and
programs it has learned from intake (``GET /v1/sites``, ``GET /v1/sites/{site_id}/programs``)
are ``dbt_shared.site_directory``'s.
"""

from __future__ import annotations

from dbt_shared import audit, site_directory
from dbt_shared.web import components
from notifications.api import figures, inbox, people, site_inbox

TITLE = "DBT Platform - Notifications"
DESCRIPTION = "Site inboxes, channel preferences, reminders and the delivery audit."
BLUEPRINTS = [
    inbox.blp,
    people.blp,
    site_inbox.blp,
    figures.blp,
    site_directory.blueprint(),
    audit.blueprint(
        lambda: components().repositories.audit,
        "which person's inbox, deliveries or preferences",
    ),
]
