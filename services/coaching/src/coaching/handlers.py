"""The events the coaching service consumes: for now, intake's sites (for their time zones)
and programs (for their coaching settings), into the site directory's read model."""

from __future__ import annotations

from coaching.bootstrap import Components
from dbt_shared import site_directory
from dbt_shared.events.consumer import Handler

# What this service consumes (sites, clinicians, admissions) may wait half a second; in
# return intake's busy topic costs it a poll per half second, not one per referral event.
FETCH_WAIT_MS = 500


def handlers(_components: Components) -> dict[str, Handler]:
    """Event type -> handler: only the site directory's, which keep its read model themselves."""
    return {**site_directory.HANDLERS}
