"""Notifications' use cases: the only code that loads, decides and saves.

Event handlers (``handlers``), the deliveries timer (``timers``) and the api views (``api``)
call these with the ``Components`` of ``bootstrap``.

Email is at-least-once: a crash between the SMTP hand-off and the status write can send one
message twice, never zero times. Urgent deliveries (safety alerts to clinicians) are claimed
before normal ones, retried on a faster schedule that never gives up, and never held by quiet
hours.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dbt_shared import correlation
from dbt_shared.auth import Principal
from dbt_shared.errors import NotFound, StaleWrite
from dbt_shared.events.envelope import Event
from notifications import events, metrics
from notifications.adapters import Email
from notifications.bootstrap import Components
from notifications.domain.deliveries import (
    LEASE,
    SENT,
    PermanentFailure,
    TransientFailure,
    record_attempt,
)
from notifications.domain.messages import EMAIL_TEMPLATES
from notifications.domain.notices import Notice, referral_notice, risk_alert
from notifications.domain.purposes import Priority
from notifications.domain.quiet_hours import held_until, site_zone
from notifications.domain.recipients import NoRecipient, Recipient, resolve_recipient

log = logging.getLogger(__name__)


# -- what intake's events leave behind -----------------------------------------------------------
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


# -- a site's inbox ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ListInbox:
    site_id: str
    limit: int = 50
    cursor: str | None = None


@dataclass(frozen=True)
class InboxPage:
    items: list[dict[str, Any]]
    next_cursor: str | None


def list_inbox(query: ListInbox, components: Components, principal: Principal) -> InboxPage:
    """The site's inbox: urgent items first, then the rest, each oldest first.

    Another site's inbox is not disclosed (``NotFound``); a cursor this service did not give out
    is refused (422, field ``cursor``).
    """
    if not principal.can_act_on_site(query.site_id):
        raise NotFound("site")
    items, cursor = components.repositories.inbox.page(
        query.site_id, limit=query.limit, cursor=query.cursor
    )
    return InboxPage(items, cursor)


# -- sending what is due -------------------------------------------------------------------------
def dispatch_due(components: Components, stop: threading.Event | None = None) -> int:
    """Send every delivery that is due (until ``stop`` is set); return how many were attempted.

    Each claim takes the most urgent due delivery, so an alert arriving mid-batch goes next.
    """
    attempted = 0
    while stop is None or not stop.is_set():
        now = components.clock.now()
        delivery = components.repositories.deliveries.claim_due(now, LEASE)
        if delivery is None:
            return attempted
        until = _held_until(components, delivery, now)
        if until is not None:
            _save(components, {**delivery, "next_attempt_at": until})
            log.info("delivery held for quiet hours", extra={"delivery_id": delivery["_id"]})
            continue
        attempted += 1
        with correlation.bound(delivery.get("correlation_id")):
            _attempt(components, delivery)
    return attempted


def _held_until(components: Components, delivery: dict[str, Any], now: datetime) -> datetime | None:
    quiet = components.quiet_hours.get(delivery["channel"])
    if quiet is None:  # no quiet hours on this channel: the site's zone does not matter
        return None
    zone = site_zone(components.repositories.site_zones.timezone_of(delivery["site_id"]))
    return held_until(delivery["purpose"], delivery["channel"], now, zone, quiet)


def _attempt(components: Components, delivery: dict[str, Any]) -> None:
    error: str | None = None
    permanent = False
    recipient: Recipient | None = None
    try:
        recipient = _recipient(components, delivery)
        components.sender.send(_email(delivery, recipient))
    except PermanentFailure as exc:
        error, permanent = str(exc), True
    except TransientFailure as exc:
        error = str(exc)
    policies = components.retry_policies
    attempt = record_attempt(
        delivery,
        now=components.clock.now(),
        policy=policies.get(delivery.get("priority", Priority.NORMAL), policies[Priority.NORMAL]),
        error=error,
        permanent=permanent,
        fallback=recipient.fallback if recipient else None,
    )
    outcome: list[Event] = []
    if attempt.settled:  # sent, or given up: announced with the write that records it
        outcome.append(
            events.delivery_outcome(
                attempt.delivery,
                sent=attempt.outcome == SENT,
                attempts=attempt.delivery["attempts"],
                error=attempt.error,
                clock=components.clock,
            )
        )
    if not _save(components, attempt.delivery, outcome):
        return
    log_extra = {"delivery_id": delivery["_id"], "attempts": attempt.delivery["attempts"]}
    if attempt.outcome == SENT:
        log.info("delivery sent", extra=log_extra)
    elif attempt.settled:
        log.error("delivery failed for good", extra={**log_extra, "error": error})
    else:
        log.warning("delivery failed; will retry", extra={**log_extra, "error": error})
    metrics.DELIVERIES.labels(delivery["purpose"], delivery["channel"], attempt.outcome).inc()


def _save(components: Components, delivery: dict[str, Any], outcome: Iterable[Event] = ()) -> bool:
    try:
        components.repositories.deliveries.save(delivery, outcome)
    except StaleWrite:
        # Its lease ran out and another worker claimed it meanwhile: that worker owns it now.
        log.warning("delivery changed meanwhile; left to its claimer", extra=_ids(delivery))
        return False
    return True


def _ids(delivery: dict[str, Any]) -> dict[str, Any]:
    return {"delivery_id": delivery["_id"], "site_id": delivery["site_id"]}


def _recipient(components: Components, delivery: dict[str, Any]) -> Recipient:
    """Whom this delivery goes to, from intake's site (``recipients.resolve_recipient``)."""
    if delivery["channel"] != "email":
        raise PermanentFailure(f"no sender for {delivery['channel']}/{delivery['recipient_kind']}")
    if delivery["purpose"] not in EMAIL_TEMPLATES:
        raise PermanentFailure(f"no email text for {delivery['purpose']}")
    site = components.contacts.site(delivery["site_id"])
    try:
        recipient = resolve_recipient(delivery["recipient_kind"], site)
    except NoRecipient as exc:
        raise PermanentFailure(str(exc)) from exc
    if recipient.fallback:
        log.warning(
            "no clinical lead email; sending to the site's intake address", extra=_ids(delivery)
        )
    return recipient


def _email(delivery: dict[str, Any], recipient: Recipient) -> Email:
    content = EMAIL_TEMPLATES[delivery["purpose"]](delivery["subject_ref"])
    return Email(
        to=recipient.address,
        subject=content.subject,
        body=content.body,
        delivery_id=delivery["_id"],
        urgent=delivery.get("priority") == Priority.URGENT,
    )
