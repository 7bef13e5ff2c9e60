"""The events intake consumes: only its own staff changes, into the staff directory every
service keeps (``dbt_shared.staff_directory``: the site roles of requests). Intake is otherwise
the start of every chain, so it has no use case of its own to call here."""

from __future__ import annotations

from dbt_shared import staff_directory
from dbt_shared.events.handling import Handler, service_handlers
from intake.bootstrap import Components

# A fetch window of a second: intake's own busy topic (mostly events not handled here, skipped
# undecoded) is a fetch per 64 KiB of it; a staff change waits a second at most.
FETCH_WAIT_MS = 1000

READ_MODELS = (staff_directory,)  # who works where (the site roles of requests)


def handlers(components: Components) -> dict[str, Handler]:
    return service_handlers(components, READ_MODELS)
