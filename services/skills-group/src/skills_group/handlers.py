"""The events skills-group consumes, and the use case each one runs (``services``): intake's
sites and programs (the site directory's handlers), clinicians (who facilitates, by subject),
and admitted clients (rolling admission). Each is keyed on its id: a redelivery changes nothing.
"""

from __future__ import annotations

from typing import Any

from dbt_shared import site_directory
from dbt_shared.contracts import intake
from dbt_shared.events.consumer import Handler, HandlerContext
from dbt_shared.events.envelope import Event
from skills_group import services
from skills_group.bootstrap import Components

# A short fetch window: intake's busy topic (mostly events skipped here, undecoded) is one fetch
# per window, not one per record. Admitted clients are still placed in the order they were
# admitted: the consumer merges the partitions of a window by the time each record was sent.
FETCH_WAIT_MS = 200
IN_SEND_ORDER = True


def handlers(components: Components) -> dict[str, Handler]:
    def on_clinician_registered(_event: Event, data: dict[str, Any], _ctx: HandlerContext):
        services.on_clinician_registered(data, components)

    def on_client_admitted(_event: Event, data: dict[str, Any], _ctx: HandlerContext):
        services.on_client_admitted(data, components)

    return {
        **site_directory.HANDLERS,
        intake.CLINICIAN_REGISTERED: on_clinician_registered,
        intake.CLIENT_ADMITTED: on_client_admitted,
    }
