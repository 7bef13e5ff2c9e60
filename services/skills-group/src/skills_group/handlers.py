"""The events the skills-group service consumes: for now, intake's sites (for their time zones)."""

from __future__ import annotations

from dbt_shared import site_directory
from dbt_shared.events.consumer import Handler

HANDLERS: dict[str, Handler] = {**site_directory.HANDLERS}
