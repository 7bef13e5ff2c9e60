"""The events notifications consumes, and the use case each one runs (``services``).

Every write is keyed on the event, so a redelivered event changes nothing. The site directory
(time zones, programs) is kept by ``dbt_shared.site_directory``'s own handlers.
"""

from __future__ import annotations

from dbt_shared import site_directory
from dbt_shared.contracts import intake
from dbt_shared.events.consumer import Handler, HandlerContext, batched
from notifications import services
from notifications.bootstrap import Components


def handlers(components: Components) -> dict[str, Handler]:
    """The worker's handlers, calling the use cases on ``components``."""

    def on_referrals_received(batch: services.Batch, _ctx: HandlerContext) -> None:
        services.on_referrals_received(batch, components)

    def on_risks_flagged(batch: services.Batch, _ctx: HandlerContext) -> None:
        services.on_risks_flagged(batch, components)

    # A poll's run of these comes as one batch: a few bulk writes, not a few writes each.
    return {
        **site_directory.HANDLERS,
        intake.REFERRAL_RECEIVED: batched(on_referrals_received),
        intake.RISK_FLAGGED: batched(on_risks_flagged),
    }
