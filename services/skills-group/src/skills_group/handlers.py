"""The events skills-group consumes, and the use case each one runs (``services``): intake's
sites and programs (the site directory's handlers), clinicians (who facilitates, by subject;
who left, whose calendar feeds end), and admitted clients (rolling admission). Each is keyed on
its id: a redelivery changes nothing.
"""

from __future__ import annotations

from typing import Any

from dbt_shared import site_directory, staff_directory
from dbt_shared.contracts import intake
from dbt_shared.events.consumer import Handler, HandlerContext
from dbt_shared.events.envelope import Event
from skills_group import services
from skills_group.bootstrap import Components

# A fetch window of a second: intake's busy topic (mostly events skipped here, undecoded) is a
# fetch per 64 KiB of it, not one per record, and at rest one fetch a second, as without a
# window. An admission waits a second at most; admitted clients are still placed in the order
# they were admitted: the consumer merges a window's partitions by the time each record was sent.
FETCH_WAIT_MS = 1000
IN_SEND_ORDER = True


def handlers(components: Components) -> dict[str, Handler]:
    def on_clinician_registered(_event: Event, data: dict[str, Any], _ctx: HandlerContext):
        services.on_clinician_registered(data, components)

    def on_clinician_deactivated(_event: Event, data: dict[str, Any], _ctx: HandlerContext):
        services.on_clinician_deactivated(data, components)

    def on_client_admitted(_event: Event, data: dict[str, Any], _ctx: HandlerContext):
        services.on_client_admitted(data, components)

    return {
        **site_directory.HANDLERS,
        **staff_directory.HANDLERS,  # who works where: the site roles of requests
        intake.CLINICIAN_REGISTERED: on_clinician_registered,
        intake.CLINICIAN_DEACTIVATED: on_clinician_deactivated,
        intake.CLIENT_ADMITTED: on_client_admitted,
    }
