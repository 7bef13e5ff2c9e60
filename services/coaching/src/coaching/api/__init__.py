"""Coaching's HTTP api: the ``/v1`` resources it serves and its OpenAPI title.

``availability`` (coaching hours, rota, overrides, time off, coverage), ``requests`` (coaching
requests and their steps), ``clients`` (diary cards, self-harm records, alliance, goals, load),
``caseload`` (a therapist's caseload, a diary week day by day, the 24-hour rule's state,
after-hours load against the team), ``figures`` (a site's figures for the operators'
overview), the sites and programs learned from intake (``dbt_shared.site_directory``) and the
audit trail (``dbt_shared.audit``).
"""

from __future__ import annotations

from coaching.api import availability, caseload, clients, figures, requests
from dbt_shared import audit, site_directory
from dbt_shared.web import components

TITLE = "DBT Platform - Coaching"
DESCRIPTION = (
    "Phone coaching: on-call rotas, coaching requests, diary cards and alliance check-ins."
)
BLUEPRINTS = [
    availability.blp,
    requests.blp,
    clients.blp,
    caseload.blp,
    figures.blp,
    site_directory.blueprint(),
    audit.blueprint(lambda: components().repositories.audit, "which client's coaching data"),
]
