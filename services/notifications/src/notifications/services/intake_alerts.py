"""What intake's events leave behind: a site inbox item and an email per new referral, an
urgent item and an alert to the clinical lead per high-risk screening."""

from __future__ import annotations

from typing import Any

from dbt_shared.events.envelope import Event
from notifications.bootstrap import Components
from notifications.domain.notices import Notice, referral_notice, risk_alert

Batch = list[tuple[Event, dict[str, Any]]]


def on_referrals_received(batch: Batch, components: Components) -> None:
    """New referrals: for each, a normal inbox item and an email to the site's intake
    address."""
    now = components.clock.now()
    _record(components, [referral_notice(event, data, now) for event, data in batch])


def on_risks_flagged(batch: Batch, components: Components) -> None:
    """High risk at screening: for each, an urgent inbox item and an email to the clinical lead,
    due now."""
    now = components.clock.now()
    _record(components, [risk_alert(event, data, now) for event, data in batch])


def _record(components: Components, notices: list[Notice]) -> None:
    # Both are keyed on the event: a redelivered event finds them stored and adds nothing.
    # Items first, then deliveries, each one bulk write for the whole batch.
    components.repositories.inbox.add_many([item for item, _ in notices])
    components.repositories.deliveries.add_many([delivery for _, delivery in notices])
