"""Sending pending deliveries: contact details fetched at send time, then SMTP, then the outcome.

The delivery is stored before anything is sent (accepted work is never lost); a worker killed
mid-way finds it pending again when its lease runs out. Email is at-least-once: a crash between
the SMTP hand-off and the status write can send one message twice, never zero times.
"""

from __future__ import annotations

import logging
import os
import smtplib
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage as MimeMessage
from typing import Any

import requests
from pymongo import ReturnDocument

from dbt_shared.config import env, env_int
from dbt_shared.events import outbox
from dbt_shared.worker import WorkerContext
from notifications import events, store
from notifications.domain import DeliveryStatus, RetryPolicy, referral_received_email

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


def dispatch_due(ctx: WorkerContext, smtp: SmtpSettings, policy: RetryPolicy) -> int:
    """Send every delivery that is due; return how many were attempted."""
    attempted = 0
    while not ctx.stop.is_set():
        now = ctx.clock.now()
        # Claim one due delivery by pushing its next attempt past the lease.
        delivery = ctx.db[store.DELIVERIES].find_one_and_update(
            {"status": DeliveryStatus.PENDING, "next_attempt_at": {"$lte": now}},
            {"$set": {"next_attempt_at": now + LEASE}},
            sort=[("next_attempt_at", 1)],
            return_document=ReturnDocument.AFTER,
        )
        if delivery is None:
            return attempted
        attempted += 1
        _attempt(ctx, smtp, policy, delivery)
    return attempted


def _attempt(ctx: WorkerContext, smtp: SmtpSettings, policy: RetryPolicy, delivery: dict) -> None:
    attempts = delivery["attempts"] + 1
    error: str | None = None
    permanent = False
    try:
        _send(ctx, smtp, delivery)
    except PermanentFailure as exc:
        error, permanent = str(exc), True
    except (OSError, smtplib.SMTPException, requests.RequestException) as exc:
        error = type(exc).__name__
    now = ctx.clock.now()
    log_extra = {"delivery_id": delivery["_id"], "attempts": attempts}
    if error is None:
        update = {"$set": {"status": DeliveryStatus.SENT, "attempts": attempts, "sent_at": now}}
        ev = events.delivery_outcome(
            delivery, sent=True, attempts=attempts, error=None, clock=ctx.clock
        )
        log.info("delivery sent", extra=log_extra)
    else:
        retry_at = None if permanent else policy.next_attempt_at(attempts, now)
        if retry_at is not None:
            ctx.db[store.DELIVERIES].update_one(
                {"_id": delivery["_id"]},
                {"$set": {"attempts": attempts, "next_attempt_at": retry_at, "last_error": error}},
            )
            log.warning("delivery failed; will retry", extra={**log_extra, "error": error})
            return
        update = {
            "$set": {
                "status": DeliveryStatus.FAILED,
                "attempts": attempts,
                "failed_at": now,
                "last_error": error,
            }
        }
        ev = events.delivery_outcome(
            delivery, sent=False, attempts=attempts, error=error, clock=ctx.clock
        )
        log.error("delivery failed for good", extra={**log_extra, "error": error})
    ctx.db[store.DELIVERIES].update_one(
        {"_id": delivery["_id"]}, outbox.update_with_events(update, [ev])
    )


def _send(ctx: WorkerContext, smtp: SmtpSettings, delivery: dict[str, Any]) -> None:
    if delivery["channel"] != "email" or delivery["recipient_kind"] != "site_intake":
        raise PermanentFailure(f"no sender for {delivery['channel']}/{delivery['recipient_kind']}")
    address = _site_intake_email(ctx, delivery["site_id"])
    content = referral_received_email(delivery["subject_ref"])
    message = MimeMessage()
    message["From"] = smtp.sender
    message["To"] = address
    message["Subject"] = content.subject
    message["X-DBT-Delivery-Id"] = delivery["_id"]
    message.set_content(content.body)
    with smtplib.SMTP(smtp.host, smtp.port, timeout=10) as client:
        if smtp.starttls:
            client.starttls()
        if smtp.username and smtp.password:
            client.login(smtp.username, smtp.password)
        client.send_message(message)


def _site_intake_email(ctx: WorkerContext, site_id: str) -> str:
    """Asked of intake at send time, under this service's own identity."""
    response = requests.get(
        f"{ctx.settings.service_url('intake')}/v1/sites/{site_id}",
        headers={"Authorization": f"Bearer {ctx.service_tokens.token()}"},
        timeout=10,
    )
    if response.status_code == 404:
        raise PermanentFailure("site unknown to intake")
    response.raise_for_status()
    return response.json()["intake_email"]
