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

# No fetch window: admitted clients are placed in the order they arrive, and records fetched
# together from several partitions lose that order (fairness: the first admitted, the first
# seat). Other services' events are still skipped undecoded and committed every few seconds.
FETCH_WAIT_MS = 0


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
