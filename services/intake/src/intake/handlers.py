"""The events intake consumes: none yet, intake is the start of every chain."""

from __future__ import annotations

from dbt_shared.events.consumer import Handler
from intake.bootstrap import Components


def handlers(_components: Components) -> dict[str, Handler]:
    return {}
