"""Sending pending deliveries: contact details fetched at send time, then SMTP, then the outcome.

The delivery is stored before anything is sent (accepted work is never lost); a worker killed
mid-way finds it pending again when its lease runs out. Email is at-least-once: a crash between
the SMTP hand-off and the status write can send one message twice, never zero times.

Urgent deliveries (safety alerts to clinicians) are claimed before normal ones, retried on a
faster schedule, and never held by quiet hours (``domain.may_send_now``).
"""

from __future__ import annotations

import logging
import os
import smtplib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage as MimeMessage
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
from pymongo import ReturnDocument

from dbt_shared import correlation, site_directory
from dbt_shared.config import env, env_int
from dbt_shared.events import outbox
from dbt_shared.worker import WorkerContext
from notifications import events, metrics, store
from notifications.domain import (
    DeliveryStatus,
    EmailMessage,
    NoRecipient,
    Priority,
    Purpose,
    QuietHours,
    Recipient,
    RetryPolicy,
    may_send_now,
    referral_received_email,
    resolve_recipient,
    retry_policies,
    risk_flagged_email,
)

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    starttls: bool
    username: str | None
    password: str | None

    @classmethod
    def from_env(cls) -> SmtpSettings:
        return cls(
            host=env("SMTP_HOST", "127.0.0.1"),
            port=env_int("SMTP_PORT", 1025),
            sender=env("SMTP_FROM", "DBT Platform <no-reply@dbt-platform.local>"),
            starttls=env("SMTP_STARTTLS", "false").lower() == "true",
            username=os.environ.get("SMTP_USERNAME") or None,
            password=os.environ.get("SMTP_PASSWORD") or None,
        )


class PermanentFailure(Exception):
    """Retrying cannot help (e.g. the site does not exist)."""


# The text of each purpose's email; every text takes the subject reference only.
EMAIL_TEMPLATES: dict[str, Callable[[str], EmailMessage]] = {
    Purpose.REFERRAL_RECEIVED: referral_received_email,
    Purpose.RISK_FLAGGED: risk_flagged_email,
}

# Local quiet hours per channel. Email has none yet; SMS will (08:00-21:00 only). Safety
# purposes pass through them whatever is configured here.
QUIET_HOURS: dict[str, QuietHours | None] = {"email": None}


def claim_order() -> list[tuple[str, int]]:
    """The order due deliveries are claimed in: urgent first, then the longest-waiting."""
    return [("priority_rank", 1), ("next_attempt_at", 1)]


def dispatch_due(
    ctx: WorkerContext,
    smtp: SmtpSettings,
    policy: RetryPolicy | Mapping[str, RetryPolicy],
) -> int:
    """Send every delivery that is due; return how many were attempted.

    ``policy`` is one retry schedule per priority, or the normal one (the urgent one is then
    ``domain.retry_policies`` of it).
    """
    policies = retry_policies(policy) if isinstance(policy, RetryPolicy) else policy
    attempted = 0
    while not ctx.stop.is_set():
        now = ctx.clock.now()
        # Claim one due delivery by pushing its next attempt past the lease; each claim takes the
        # most urgent, so an alert arriving mid-batch goes next.
        delivery = ctx.db[store.DELIVERIES].find_one_and_update(
            {"status": DeliveryStatus.PENDING, "next_attempt_at": {"$lte": now}},
            {"$set": {"next_attempt_at": now + LEASE}},
            sort=claim_order(),
            return_document=ReturnDocument.AFTER,
        )
        if delivery is None:
            return attempted
        held_until = _held_until(ctx, delivery, now)
        if held_until is not None:
            ctx.db[store.DELIVERIES].update_one(
                {"_id": delivery["_id"]}, {"$set": {"next_attempt_at": held_until}}
            )
            log.info("delivery held for quiet hours", extra={"delivery_id": delivery["_id"]})
            continue
        attempted += 1
        with correlation.bound(delivery.get("correlation_id")):
            _attempt(ctx, smtp, _policy_for(policies, delivery), delivery)
    return attempted


def _policy_for(policies: Mapping[str, RetryPolicy], delivery: dict[str, Any]) -> RetryPolicy:
    return policies.get(delivery.get("priority", Priority.NORMAL), policies[Priority.NORMAL])


def _held_until(ctx: WorkerContext, delivery: dict[str, Any], now: datetime) -> datetime | None:
    """When quiet hours let this delivery go, or ``None`` if it may go now."""
    quiet = QUIET_HOURS.get(delivery["channel"])
    local = now.astimezone(_site_zone(ctx, delivery["site_id"])) if quiet else now
    if may_send_now(delivery["purpose"], delivery["channel"], local.time(), quiet) or not quiet:
        return None
    return quiet.ends_after(local).astimezone(UTC)


def _site_zone(ctx: WorkerContext, site_id: str) -> ZoneInfo:
    """The site's time zone from the site directory (UTC until the site is known)."""
    site = ctx.db[site_directory.COLLECTION].find_one({"_id": site_id}, {"timezone": 1})
    try:
        return ZoneInfo(site["timezone"]) if site else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _attempt(ctx: WorkerContext, smtp: SmtpSettings, policy: RetryPolicy, delivery: dict) -> None:
    attempts = delivery["attempts"] + 1
    error: str | None = None
    permanent = False
    recipient: Recipient | None = None
    try:
        recipient = _recipient(ctx, delivery)
        _send(smtp, delivery, recipient.address)
    except PermanentFailure as exc:
        error, permanent = str(exc), True
    except (OSError, smtplib.SMTPException, requests.RequestException) as exc:
        error = type(exc).__name__
    now = ctx.clock.now()
    log_extra = {"delivery_id": delivery["_id"], "attempts": attempts}
    # Whether the site's intake address stood in for the intended recipient, once known.
    known = {"fallback_recipient": recipient.fallback} if recipient else {}
    if error is None:
        update = {
            "$set": {"status": DeliveryStatus.SENT, "attempts": attempts, "sent_at": now, **known}
        }
        ev = events.delivery_outcome(
            delivery, sent=True, attempts=attempts, error=None, clock=ctx.clock
        )
        log.info("delivery sent", extra=log_extra)
        metrics.DELIVERIES.labels(delivery["purpose"], delivery["channel"], "sent").inc()
    else:
        retry_at = None if permanent else policy.next_attempt_at(attempts, now)
        if retry_at is not None:
            ctx.db[store.DELIVERIES].update_one(
                {"_id": delivery["_id"]},
                {
                    "$set": {
                        "attempts": attempts,
                        "next_attempt_at": retry_at,
                        "last_error": error,
                        **known,
                    }
                },
            )
            log.warning("delivery failed; will retry", extra={**log_extra, "error": error})
            metrics.DELIVERIES.labels(delivery["purpose"], delivery["channel"], "retrying").inc()
            return
        update = {
            "$set": {
                "status": DeliveryStatus.FAILED,
                "attempts": attempts,
                "failed_at": now,
                "last_error": error,
                **known,
            }
        }
        ev = events.delivery_outcome(
            delivery, sent=False, attempts=attempts, error=error, clock=ctx.clock
        )
        log.error("delivery failed for good", extra={**log_extra, "error": error})
        metrics.DELIVERIES.labels(delivery["purpose"], delivery["channel"], "failed").inc()
    ctx.db[store.DELIVERIES].update_one(
        {"_id": delivery["_id"]}, outbox.update_with_events(update, [ev])
    )


def _recipient(ctx: WorkerContext, delivery: dict[str, Any]) -> Recipient:
    """Whom this delivery goes to, from intake's site (``domain.resolve_recipient``)."""
    if delivery["channel"] != "email":
        raise PermanentFailure(f"no sender for {delivery['channel']}/{delivery['recipient_kind']}")
    if delivery["purpose"] not in EMAIL_TEMPLATES:
        raise PermanentFailure(f"no email text for {delivery['purpose']}")
    try:
        recipient = resolve_recipient(delivery["recipient_kind"], _site(ctx, delivery["site_id"]))
    except NoRecipient as exc:
        raise PermanentFailure(str(exc)) from exc
    if recipient.fallback:
        log.warning(
            "no clinical lead email; sending to the site's intake address",
            extra={"delivery_id": delivery["_id"], "site_id": delivery["site_id"]},
        )
    return recipient


def _send(smtp: SmtpSettings, delivery: dict[str, Any], address: str) -> None:
    content = EMAIL_TEMPLATES[delivery["purpose"]](delivery["subject_ref"])
    message = MimeMessage()
    message["From"] = smtp.sender
    message["To"] = address
    message["Subject"] = content.subject
    message["X-DBT-Delivery-Id"] = delivery["_id"]
    if delivery.get("priority") == Priority.URGENT:
        message["Importance"] = "high"
        message["X-Priority"] = "1"
    message.set_content(content.body)
    with smtplib.SMTP(smtp.host, smtp.port, timeout=10) as client:
        if smtp.starttls:
            client.starttls()
        if smtp.username and smtp.password:
            client.login(smtp.username, smtp.password)
        client.send_message(message)


def _site(ctx: WorkerContext, site_id: str) -> dict[str, Any]:
    """Intake's site (intake email, clinical lead), asked at send time as this service."""
    response = requests.get(
        f"{ctx.settings.service_url('intake')}/v1/sites/{site_id}",
        headers={
            "Authorization": f"Bearer {ctx.service_tokens.token()}",
            correlation.REQUEST_ID_HEADER: correlation.current() or "",
        },
        timeout=10,
    )
    if response.status_code == 404:
        raise PermanentFailure("site unknown to intake")
    response.raise_for_status()
    return response.json()
