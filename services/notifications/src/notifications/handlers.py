"""The events notifications consumes, and the use case each one runs (``services``).

Every write is keyed on the event, so a redelivered event changes nothing. The site directory
(time zones, programs) is kept by ``dbt_shared.site_directory``'s own handlers.
"""

from __future__ import annotations

from typing import Any

from dbt_shared import site_directory
from dbt_shared.contracts import intake
from dbt_shared.events.consumer import Handler, HandlerContext
from dbt_shared.events.envelope import Event
from notifications import services
from notifications.bootstrap import Components


def handlers(components: Components) -> dict[str, Handler]:
    """The worker's handlers, calling the use cases on ``components``."""

    def on_referral_received(event: Event, data: dict[str, Any], _ctx: HandlerContext) -> None:
        services.on_referral_received(event, data, components)

    def on_risk_flagged(event: Event, data: dict[str, Any], _ctx: HandlerContext) -> None:
        services.on_risk_flagged(event, data, components)

    return {
        **site_directory.HANDLERS,
        intake.REFERRAL_RECEIVED: on_referral_received,
        intake.RISK_FLAGGED: on_risk_flagged,
    }
