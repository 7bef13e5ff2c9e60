"""Coaching's HTTP api: the ``/v1`` resources it serves and its OpenAPI title.

``availability`` (coaching hours, rota, overrides, time off, coverage), ``requests`` (coaching
requests and their steps), ``clients`` (diary cards, self-harm records, alliance, goals, load,
audit), ``caseload`` (a therapist's caseload, a diary week day by day, the 24-hour rule's
state, after-hours load against the team), ``figures`` (a site's figures for the operators'
overview), and the sites and programs learned from intake (``dbt_shared.site_directory``).
"""

from __future__ import annotations

from coaching.api import availability, caseload, clients, figures, requests
from dbt_shared import site_directory

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
]
