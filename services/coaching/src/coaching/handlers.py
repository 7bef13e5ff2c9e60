"""The events coaching consumes, and the use case each one runs (``services.directory``):
intake's sites and programs (the site directory's handlers), clinicians, admitted clients and
therapist changes, and skills-group's discharges. Each is keyed on its id: a redelivery
changes nothing."""

from __future__ import annotations

from typing import Any

from coaching.bootstrap import Components
from coaching.services import directory
from dbt_shared import site_directory, staff_directory
from dbt_shared.contracts import intake, skills
from dbt_shared.events.consumer import Handler, HandlerContext
from dbt_shared.events.envelope import Event

# What this service consumes (sites, clinicians, admissions) may wait a second; in return
# intake's busy topic costs it a fetch per 64 KiB of it, not one per referral event, and at rest
# one fetch a second.
FETCH_WAIT_MS = 1000


def handlers(components: Components) -> dict[str, Handler]:
    def run(use_case):
        def handle(_event: Event, data: dict[str, Any], _ctx: HandlerContext) -> None:
            use_case(data, components)

        return handle

    return {
        **site_directory.HANDLERS,
        **staff_directory.HANDLERS,  # who works where: the site roles of requests
        intake.CLINICIAN_REGISTERED: run(directory.on_clinician_registered),
        intake.CLIENT_ADMITTED: run(directory.on_client_admitted),
        intake.THERAPIST_ASSIGNED: run(directory.on_therapist_assigned),
        skills.CLIENT_DISCHARGED: run(directory.on_client_discharged),
    }
