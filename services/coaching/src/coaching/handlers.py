"""The events the coaching service consumes: for now, intake's sites (for their time zones)
and programs (for their coaching settings), into the site directory's read model."""

from __future__ import annotations

from coaching.bootstrap import Components
from dbt_shared import site_directory
from dbt_shared.events.consumer import Handler


def handlers(_components: Components) -> dict[str, Handler]:
    """Event type -> handler: only the site directory's, which keep its read model themselves."""
    return {**site_directory.HANDLERS}
