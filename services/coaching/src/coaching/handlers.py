"""The events coaching consumes, and the use case each one runs (``services.directory``):
intake's sites and programs (the site directory's handlers), clinicians, admitted clients and
therapist changes, and skills-group's discharges. Each is keyed on its id: a redelivery
changes nothing."""

from __future__ import annotations

from coaching.bootstrap import Components
from coaching.services import directory
from dbt_shared import site_directory, staff_directory
from dbt_shared.contracts import intake, skills
from dbt_shared.events.handling import Handler, service_handlers

# What this service consumes (sites, clinicians, admissions) may wait a second; in return
# intake's busy topic costs it a fetch per 64 KiB of it, not one per referral event; at rest it
# asks every 5 s (``fetch_pace``).
FETCH_WAIT_MS = 1000

# Sites and programs; who works where (the site roles of requests).
READ_MODELS = (site_directory, staff_directory)
USE_CASES = {
    intake.CLINICIAN_REGISTERED: directory.on_clinician_registered,
    intake.CLIENT_ADMITTED: directory.on_client_admitted,
    intake.THERAPIST_ASSIGNED: directory.on_therapist_assigned,
    skills.CLIENT_DISCHARGED: directory.on_client_discharged,
}


def handlers(components: Components) -> dict[str, Handler]:
    return service_handlers(components, READ_MODELS, USE_CASES)
