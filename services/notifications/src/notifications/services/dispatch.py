"""Sending what is due: each claimed delivery is resolved to its channel and address at send
time (``targets``: intake's API; nothing is stored), held when its channel's window is closed
for the recipient (SMS 08:00-21:00 in their zone, their quiet hours), dropped when a held
reminder's session has started by then, else sent and its attempt recorded.

Email and SMS are at-least-once, and a crash repeats at most the one message in flight of each
sender (the routine one and the urgent lane's, ``dispatch_urgent``): each
attempt is begun in the send journal before its provider call, carrying the outcome of the
message handed over before it (``notifications.send_journal``); the deliveries are written
together, up to ``SAVE_EVERY`` at once, at most ``SAVE_WITHIN_S`` after the first, each guarded
(a delivery another worker wrote meanwhile is left to it). A re-claimed delivery finds its
attempt begun: the journal's outcome is recorded without sending, else it was in flight and
is sent again under the same key (``send_key``: the SMS ``Idempotency-Key``, the email's
``Message-ID``). Urgent deliveries (safety alerts to clinicians) are claimed before normal
ones, retried on a faster schedule that never gives up; safety messages, crisis coaching and a
coaching request to the clinician on call (``at_once``) are never held.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from dbt_shared import correlation
from dbt_shared.clock import aware
from dbt_shared.events.envelope import Event
from notifications import events, metrics
from notifications.adapters import Email, Sms
from notifications.bootstrap import Components
from notifications.domain import texts, windows
from notifications.domain.deliveries import (
    DROPPED,
    LEASE,
    SENT,
    PermanentFailure,
    TransientFailure,
    record_attempt,
)
from notifications.domain.messages import EMAIL_TEMPLATES
from notifications.domain.purposes import Priority
from notifications.send_journal import send_key
from notifications.services.targets import PEOPLE, Target, at_once, sms_window, target_of

log = logging.getLogger(__name__)
SAVE_EVERY = 20  # changes written in one bulk write at most
SAVE_WITHIN_S = 0.25  # how long a change waits for others before it is written
# An attempt in flight as an earlier version stored it on the delivery ({"attempt", "since"}):
# cleared by every change written; read once, on the first claim after the upgrade.
SENDING = "sending"


def dispatch_due(components: Components, stop: threading.Event | None = None) -> int:
    """Send every delivery that is due (until ``stop`` is set); return how many were attempted.

    Each claim takes the most urgent due delivery, so an alert arriving mid-batch goes next.
    """
    return _dispatch(components, stop, components.repositories.deliveries.claim_due)


def dispatch_urgent(components: Components, stop: threading.Event | None = None) -> int:
    """Send the urgent deliveries handed over as they were stored (a crisis page, a risk
    alert), and only those: the sender of the urgent lane, whose sends never wait behind a
    routine send or the batch write of its outcomes (``Deliveries.claim_urgent``)."""
    return _dispatch(components, stop, components.repositories.deliveries.claim_urgent)


def _dispatch(
    components: Components,
    stop: threading.Event | None,
    claim: Callable[..., dict[str, Any] | None],
) -> int:
    attempted = 0
    saves = _Saves(components)
    try:
        while stop is None or not stop.is_set():
            now = components.clock.now()
            delivery = claim(now, LEASE)
            if delivery is None:
                break
            if delivery["_id"] in saves.ids:  # claimed again before its attempt was written
                saves.flush()
            with correlation.bound(delivery.get("correlation_id")):
                attempted += _handle(components, delivery, now, saves)
            saves.flush_if_due()
    except BaseException:
        with contextlib.suppress(Exception):  # what was sent is recorded if the database lets
            saves.flush()
        raise
    saves.flush()
    return attempted


class _Saves:
    """The claimed deliveries' changes not written yet: written together, then each one's
    ``done`` is called with whether it took effect (a change made meanwhile wins).

    ``carried``: the outcome of the last attempt handed to a provider whose change is not
    written yet, for the next attempt's journal entry to carry."""

    def __init__(self, c: Components) -> None:
        self.c = c
        self.pending: list[tuple[dict[str, Any], list[Event], Callable[[], None], str | None]] = []
        self.ids: set[str] = set()
        self.since = 0.0
        self.carried: tuple[str, dict[str, Any]] | None = None

    def add(self, delivery, events=(), done: Callable[[], None] = lambda: None, key=None) -> None:
        """A change to write; ``key``: the journal entry of the attempt it records."""
        if not self.pending:
            self.since = time.monotonic()
        self.pending.append((delivery, list(events), done, key))
        self.ids.add(delivery["_id"])

    def flush_if_due(self) -> None:
        if len(self.pending) >= SAVE_EVERY or (
            self.pending and time.monotonic() - self.since >= SAVE_WITHIN_S
        ):
            self.flush()

    def flush(self) -> None:
        """Write what is pending (one ``save_many``); the journal entries of the attempts it
        records are forgotten (a delivery changed meanwhile is its claimer's, who records or
        repeats that attempt under its key)."""
        pending, self.pending, self.ids = self.pending, [], set()
        if not pending:
            return
        stored = self.c.repositories.deliveries.save_many([(d, ev) for d, ev, _, _ in pending])
        self.carried = None  # written (or its claimer's now)
        self.c.repositories.deliveries.journal.forget(k for *_, k in pending if k is not None)
        for (delivery, _events, done, _key), written in zip(pending, stored, strict=True):
            with correlation.bound(delivery.get("correlation_id")):
                if written is None:
                    # Its lease ran out and another worker claimed it meanwhile: that worker
                    # owns it now.
                    log.warning(
                        "delivery changed meanwhile; left to its claimer", extra=_ids(delivery)
                    )
                else:
                    done()


def _handle(c: Components, delivery: dict[str, Any], now: datetime, saves: _Saves) -> int:
    """Send one claimed delivery, or hold or drop it; answers 1 when it was attempted."""
    key = send_key(delivery, delivery["attempts"] + 1)
    try:
        target = target_of(c, delivery)
    except (PermanentFailure, TransientFailure) as exc:
        # (a failure is rare: it looks whether this attempt went out before its sender stopped)
        if not _journaled(c, saves, delivery, None, key):
            permanent = isinstance(exc, PermanentFailure)
            _record(c, saves, delivery, None, error=str(exc), permanent=permanent)
        return 1
    delivery = {**delivery, "channel": target.channel}
    until = windows.send_at(
        target.channel,
        now,
        target.zone,
        at_once=at_once(delivery),
        sms_window=sms_window(c, delivery["site_id"]),
        quiet_hours=target.quiet_hours,
    )
    if until is not None:
        # A hold or a drop is rare beside a send: it looks whether this attempt went out before
        # its sender stopped (then it is recorded as sent, neither held nor dropped).
        if _journaled(c, saves, delivery, target, key):
            return 1
        starts = delivery.get("session_starts_at")
        if starts is not None and windows.drop_held_reminder(until, aware(starts)):

            def dropped() -> None:
                metrics.DELIVERIES.labels(delivery["purpose"], target.channel, DROPPED).inc()
                log.info("held reminder dropped: its session starts first", extra=_ids(delivery))

            change = {
                "status": DROPPED,
                "dropped_at": now,
                "last_error": "held past",
                SENDING: None,
            }
            saves.add({**delivery, **change}, done=dropped)
            return 0

        def held() -> None:
            metrics.HELD.labels(delivery["purpose"], target.channel).inc()
            log.info("delivery held until its window opens", extra=_ids(delivery))

        held_change = {"held_until": until, "next_attempt_at": until, SENDING: None}
        saves.add({**delivery, **held_change}, done=held)
        return 0
    # Begun in the journal before the provider is called, with the outcome of the message
    # before: a crash from here repeats this message at most.
    began = c.repositories.deliveries.journal.begin(key, now, saves.carried)
    if began:
        interrupted = delivery.get(SENDING) or {}  # stored in flight by an earlier version
        if interrupted.get("attempt") == delivery["attempts"] + 1:
            _resending(delivery, target)
    elif _journaled(c, saves, delivery, target, key):  # begun by its earlier claimer
        return 1
    else:
        _resending(delivery, target)
    error, permanent, provider = None, False, None
    try:
        provider = _send(c, delivery, target, key=key)
    except PermanentFailure as exc:
        error, permanent = str(exc), True
    except TransientFailure as exc:
        error = str(exc)
    # The provider's record (NotificationProviderFailing; a missing address never gets here)
    call = "ok" if error is None else "rejected" if permanent else "error"
    metrics.PROVIDER_CALLS.labels(target.channel, call).inc()
    # Only an entry this sender began is forgotten once written: a stopped sender's entry may
    # carry the outcome of an attempt not re-claimed yet (``SendJournal``).
    mine = key if began else None
    _record(
        c, saves, delivery, target, key=mine, error=error, permanent=permanent, provider=provider
    )
    outcome = {"error": error, "permanent": permanent, "provider": provider}
    saves.carried = (key, {**outcome, "channel": target.channel})
    return 1


def _journaled(c: Components, saves: _Saves, delivery, target: Target | None, key: str) -> bool:
    """Record the outcome of attempt ``key`` as the journal has it (handed to the provider by a
    sender that stopped before writing it; index ``outcome_of``); ``False`` when it has none."""
    outcome = c.repositories.deliveries.journal.outcome(key)
    if outcome is None:
        return False
    log.info("an interrupted attempt's outcome recorded from the journal", extra=_ids(delivery))
    changed = {**delivery, "channel": outcome.get("channel") or (target and target.channel)}
    recorded = {k: outcome.get(k) for k in ("error", "permanent", "provider")}
    _record(c, saves, changed, target, **recorded)  # (its entry is left: ``SendJournal``)
    return True


def _resending(delivery: dict[str, Any], target: Target) -> None:
    """Its sender stopped between the provider call and the outcome (or its lease ran out):
    it may have gone out. Sent again under the same key (the provider can tell the repeat)."""
    metrics.RESENT.labels(delivery["purpose"], target.channel).inc()
    log.warning("delivery's last attempt was interrupted; sending again", extra=_ids(delivery))


def _record(c, saves: _Saves, delivery, target, *, error, permanent, provider=None, key=None):
    policies = c.retry_policies
    now = c.clock.now()
    attempt = record_attempt(
        delivery,
        now=now,
        policy=policies.get(delivery.get("priority", Priority.NORMAL), policies[Priority.NORMAL]),
        error=error,
        permanent=permanent,
        fallback=target.fallback if target else None,
    )
    changed = {**attempt.delivery, SENDING: None}
    status = provider or ("error" if error else "sent")
    changed["attempts_log"] = [
        *delivery.get("attempts_log", []),
        {"at": now, "provider_status": status},
    ]
    if changed.get("channel") is None:
        changed["channel"] = "email"  # never resolved: counted against the default channel
    outcome: list[Event] = []
    if attempt.settled:
        outcome.append(
            events.delivery_outcome(
                changed,
                sent=attempt.outcome == SENT,
                attempts=changed["attempts"],
                error=attempt.error,
                clock=c.clock,
            )
        )

    def recorded() -> None:
        if attempt.outcome == SENT:
            log.info("delivery sent", extra=_ids(delivery))
            starts = delivery.get("session_starts_at")
            if starts is not None:
                lead = (aware(starts) - now).total_seconds()
                metrics.REMINDER_LEAD.labels(changed["channel"]).observe(max(lead, 0.0))
        elif attempt.settled:
            log.error("delivery failed for good", extra={**_ids(delivery), "error": error})
            c.repositories.figures.count_failed(delivery["site_id"], now, changed)  # overview
        else:
            log.warning("delivery failed; will retry", extra={**_ids(delivery), "error": error})
        metrics.DELIVERIES.labels(delivery["purpose"], changed["channel"], attempt.outcome).inc()

    saves.add(changed, outcome, done=recorded, key=key)


def _ids(delivery: dict[str, Any]) -> dict[str, Any]:
    return {"delivery_id": delivery["_id"], "site_id": delivery["site_id"]}


def _send(c: Components, delivery: dict[str, Any], target: Target, *, key: str) -> str:
    purpose = delivery["purpose"]
    if target.channel == "email":
        if purpose in EMAIL_TEMPLATES and delivery["recipient_kind"] not in PEOPLE:
            content = EMAIL_TEMPLATES[purpose](delivery["subject_ref"])
            subject, body = content.subject, content.body
        else:
            text = texts.render(purpose, "email", delivery.get("text_args") or {})
            subject, body = text.subject, text.body
        c.sender.send(
            Email(
                to=target.address,
                subject=subject,
                body=body,
                delivery_id=delivery["_id"],
                urgent=delivery.get("priority") == Priority.URGENT,
                key=key,
            )
        )
        return "sent"
    if target.channel == "sms":
        text = texts.render(purpose, "sms", delivery.get("text_args") or {})
        return c.sms.send(
            Sms(to=target.address, body=text.body, delivery_id=delivery["_id"], key=key)
        )
    raise PermanentFailure(f"no sender for {target.channel}")
