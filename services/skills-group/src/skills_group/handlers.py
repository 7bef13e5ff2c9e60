"""The events skills-group consumes, and the use case each one runs (``services``): intake's
sites and programs (the site directory's handlers), clinicians (who facilitates, by subject;
who left, whose calendar feeds end), and admitted clients (rolling admission). Each is keyed on
its id: a redelivery changes nothing.
"""

from __future__ import annotations

from dbt_shared import site_directory, staff_directory
from dbt_shared.contracts import intake
from dbt_shared.events.handling import Handler, service_handlers
from skills_group import services
from skills_group.bootstrap import Components

# A fetch window of a second: intake's busy topic (mostly events skipped here, undecoded) is a
# fetch per 64 KiB of it, not one per record; at rest it asks every 5 s, as without a window
# (``fetch_pace``). An admission waits a second at most; admitted clients are still placed in
# the order they were admitted: the consumer merges a window's partitions by the time each
# record was sent.
FETCH_WAIT_MS = 1000
IN_SEND_ORDER = True

# Sites and programs; who works where (the site roles of requests).
READ_MODELS = (site_directory, staff_directory)
USE_CASES = {
    intake.CLINICIAN_REGISTERED: services.on_clinician_registered,
    intake.CLINICIAN_DEACTIVATED: services.on_clinician_deactivated,
    intake.CLIENT_ADMITTED: services.on_client_admitted,
}


def handlers(components: Components) -> dict[str, Handler]:
    return service_handlers(components, READ_MODELS, USE_CASES)
