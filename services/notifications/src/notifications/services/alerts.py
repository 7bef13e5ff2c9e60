"""What coaching's and skills-group's events leave behind: inbox items (a person's own, or a
site's) and deliveries to people (a client, a clinician) or to a site's intake address and
clinical lead. Everything is keyed on the event, so a redelivered event adds nothing; ids and
generic text arguments only (a reference, a day, a time, a room), never a name.

- ``coaching.request.created``: the clinicians notified get an SMS and an item in their own
  inbox at once; the clinical lead and the intake address, when named, an email and a site
  inbox item (urgent on the crisis path). A held request informs the therapist's inbox.
  Whom it reaches follows a fallback chain whatever the event says (``reach``): the clinicians
  named, else the clinical lead, and on the crisis path the intake address too.
- ``coaching.request.released``: a held request released after 24 hours, as a new request.
- ``coaching.request.escalated``: the same, for whom it now goes to.
- ``coaching.risk.flagged``: safety: the therapist by SMS, email and own inbox at once, the
  clinical lead by email.
- ``coaching.coverage.gap_detected``: the clinical lead by email, the site inbox (operators).
- ``coaching.alliance.rupture_flagged``: the therapist's own inbox.
- skills-group's attendance events: ``skills_alerts``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from notifications.bootstrap import Components
from notifications.domain.deliveries import DeliveryStatus
from notifications.domain.notices import derived_id, ordered_id
from notifications.domain.purposes import Priority, priority_rank
from notifications.domain.recipients import RecipientKind

Batch = list[tuple[Any, dict[str, Any]]]


def item(
    event, *, site_id: str, kind: str, priority: str, now: datetime, recipient_id=None, **details
) -> dict[str, Any]:
    """An inbox item: a person's own (``recipient_id``) or the site's."""
    return {
        "_id": ordered_id(event, f"inbox:{recipient_id or 'site'}"),
        "site_id": site_id,
        "recipient_id": recipient_id,
        "kind": kind,
        "priority": priority,
        "priority_rank": priority_rank(priority),
        **details,
        "status": "open",
        "created_at": now,
        "cause_event_id": event.id,
    }


def delivery(
    event,
    *,
    site_id: str,
    purpose: str,
    kind: str,
    recipient_id: str | None,
    channel: str | None,
    priority: str,
    now: datetime,
    at_once: bool = False,
    args: dict[str, Any] | None = None,
    due_at: datetime | None = None,
    key: str | None = None,
    **more,
) -> dict[str, Any]:
    """A delivery: due now (pending) or at ``due_at`` (scheduled). ``channel`` ``None``: the
    recipient's preferences choose at send time."""
    scheduled = due_at is not None and due_at > now
    return {
        "_id": derived_id(event, key or f"{purpose}:{kind}:{recipient_id}:{channel}"),
        "site_id": site_id,
        "channel": channel,
        "purpose": purpose,
        "recipient_kind": kind,
        "recipient_id": recipient_id,
        "subject_ref": (args or {}).get("reference", ""),
        "text_args": dict(args or {}),
        "priority": priority,
        "priority_rank": priority_rank(priority),
        "at_once": at_once,
        "status": DeliveryStatus.SCHEDULED if scheduled else DeliveryStatus.PENDING,
        "attempts": 0,
        "due_at": due_at or now,
        "next_attempt_at": due_at or now,
        "created_at": now,
        "cause_event_id": event.id,
        "correlation_id": event.correlation_id,
        **more,
    }


def store(c: Components, items: list[dict], deliveries: list[dict]) -> None:
    pending = [d for d in deliveries if d["status"] == DeliveryStatus.PENDING]
    scheduled = [d for d in deliveries if d["status"] == DeliveryStatus.SCHEDULED]
    # The deliveries due now first: a page is handed to the (woken) sender before the inbox
    # writes. Both are keyed on the event: a crash between them, and the redelivered event
    # stores what is missing.
    c.repositories.deliveries.add_many(pending)
    c.repositories.inbox.add_many(items)
    for d in scheduled:  # schedule entry first: a scheduled delivery is never left unplanned
        c.repositories.schedule.put(d["_id"], d["due_at"])
    c.repositories.deliveries.add_many(scheduled)


def ref(value: str) -> str:
    return value[:8]


# -- coaching ------------------------------------------------------------------------------------
def _clinician_alert(event, data, now, *, purpose, who: list[str], crisis: bool, items, out):
    priority = Priority.URGENT
    args = {"reference": ref(data["request_id"]), "crisis": crisis}
    for clinician in who:
        items.append(
            item(
                event,
                site_id=data["site_id"],
                kind=purpose,
                priority=priority,
                now=now,
                recipient_id=clinician,
                request_id=data["request_id"],
            )
        )
        out.append(
            delivery(
                event,
                site_id=data["site_id"],
                purpose=purpose,
                kind="clinician",
                recipient_id=clinician,
                channel="sms",
                priority=priority,
                now=now,
                at_once=True,
                args=args,
            )
        )


def _lead_alert(event, data, now, *, purpose, crisis, lead: bool, intake: bool, items, out):
    priority = Priority.URGENT if crisis else Priority.NORMAL
    args = {"reference": ref(data["request_id"]), "crisis": crisis}
    if lead or intake:
        items.append(
            item(
                event,
                site_id=data["site_id"],
                kind=purpose,
                priority=priority,
                now=now,
                request_id=data["request_id"],
            )
        )
    for wanted, kind in (
        (lead, RecipientKind.SITE_CLINICAL_LEAD),
        (intake, RecipientKind.SITE_INTAKE),
    ):
        if wanted:
            out.append(
                delivery(
                    event,
                    site_id=data["site_id"],
                    purpose=purpose,
                    kind=kind,
                    recipient_id=None,
                    channel="email",
                    priority=priority,
                    now=now,
                    at_once=crisis,
                    args=args,
                )
            )


def _lead_email(event, data, purpose: str, priority: str, now, args, at_once: bool) -> dict:
    """An email to the site's clinical lead (its address asked of intake at send time)."""
    return delivery(
        event,
        site_id=data["site_id"],
        purpose=purpose,
        kind=RecipientKind.SITE_CLINICAL_LEAD,
        recipient_id=None,
        channel="email",
        priority=priority,
        now=now,
        at_once=at_once,
        args=args,
    )


def reach(data: dict[str, Any]) -> tuple[list[str], bool, bool]:
    """Whom a coaching request reaches: the clinicians it names, then the fallback chain, held
    here as well as in coaching so that no request reaches nobody, whatever the event says.
    A crisis pages the clinicians on call, and the clinical lead when fewer than two are named,
    and the site's intake address too when none is; any other request the lead when no
    clinician is named. (The lead's address itself falls back to the intake address at send
    time: ``domain.recipients``.)"""
    who = [x for x in dict.fromkeys(data.get("notified") or []) if x]
    crisis = bool(data.get("crisis"))
    lead = bool(data.get("notify_clinical_lead")) or len(who) < (2 if crisis else 1)
    intake = bool(data.get("notify_site_intake")) or (crisis and not who)
    return who, lead, intake


def on_coaching_requests(batch: Batch, c: Components) -> None:
    now, items, out = c.clock.now(), [], []
    for event, data in batch:
        held = data["status"] == "held_24_hour_rule"
        who, lead, intake = reach(data)
        if held:  # informs the therapist: their own inbox, no page
            for clinician in who:
                items.append(
                    item(
                        event,
                        site_id=data["site_id"],
                        kind="coaching_request",
                        priority=Priority.NORMAL,
                        now=now,
                        recipient_id=clinician,
                        request_id=data["request_id"],
                        status_note="held",
                    )
                )
        else:
            _clinician_alert(
                event,
                data,
                now,
                purpose="coaching_request",
                who=who,
                crisis=data["crisis"],
                items=items,
                out=out,
            )
        _lead_alert(
            event,
            data,
            now,
            purpose="coaching_request",
            crisis=data["crisis"],
            lead=lead,
            intake=intake,
            items=items,
            out=out,
        )
    store(c, items, out)


def on_coaching_releases(batch: Batch, c: Components) -> None:
    """A request held by the 24-hour rule was released: whom it reaches now gets it as a new
    (non-crisis) request, an SMS and an own inbox item, the lead by email when nobody is named."""
    now, items, out = c.clock.now(), [], []
    for event, data in batch:
        who, lead, _intake = reach({**data, "crisis": False})
        _clinician_alert(
            event,
            data,
            now,
            purpose="coaching_request",
            who=who,
            crisis=False,
            items=items,
            out=out,
        )
        _lead_alert(
            event,
            data,
            now,
            purpose="coaching_request",
            crisis=False,
            lead=lead,
            intake=False,
            items=items,
            out=out,
        )
    store(c, items, out)


def on_coaching_escalations(batch: Batch, c: Components) -> None:
    now, items, out = c.clock.now(), [], []
    for event, data in batch:
        if data.get("to"):
            _clinician_alert(
                event,
                data,
                now,
                purpose="coaching_escalated",
                who=[data["to"]],
                crisis=False,
                items=items,
                out=out,
            )
        if data["notify_clinical_lead"]:
            _lead_alert(
                event,
                data,
                now,
                purpose="coaching_escalated",
                crisis=True,
                lead=True,
                intake=False,
                items=items,
                out=out,
            )
    store(c, items, out)


def on_coaching_risks(batch: Batch, c: Components) -> None:
    now, items, out = c.clock.now(), [], []
    for event, data in batch:
        args = {"reference": ref(data["client_id"])}
        therapist = data.get("therapist_id")
        if therapist:
            items.append(
                item(
                    event,
                    site_id=data["site_id"],
                    kind="coaching_risk",
                    priority=Priority.URGENT,
                    now=now,
                    recipient_id=therapist,
                    client_id=data["client_id"],
                )
            )
            for channel in ("sms", "email"):
                out.append(
                    delivery(
                        event,
                        site_id=data["site_id"],
                        purpose="coaching_risk",
                        kind="clinician",
                        recipient_id=therapist,
                        channel=channel,
                        priority=Priority.URGENT,
                        now=now,
                        at_once=True,
                        args=args,
                    )
                )
        items.append(
            item(
                event,
                site_id=data["site_id"],
                kind="coaching_risk",
                priority=Priority.URGENT,
                now=now,
                client_id=data["client_id"],
            )
        )
        out.append(_lead_email(event, data, "coaching_risk", Priority.URGENT, now, args, True))
    store(c, items, out)


def on_coverage_gaps(batch: Batch, c: Components) -> None:
    now, items, out = c.clock.now(), [], []
    for event, data in batch:
        args = {"reference": ref(data["gap_id"]), "missing": data["missing"]}
        items.append(
            item(
                event,
                site_id=data["site_id"],
                kind="coverage_gap",
                priority=Priority.NORMAL,
                now=now,
                gap_id=data["gap_id"],
            )
        )
        out.append(_lead_email(event, data, "coverage_gap", Priority.NORMAL, now, args, False))
    store(c, items, out)


def on_ruptures(batch: Batch, c: Components) -> None:
    now = c.clock.now()
    items = [
        item(
            event,
            site_id=data["site_id"],
            kind="alliance_rupture",
            priority=Priority.NORMAL,
            now=now,
            recipient_id=data["therapist_id"],
            client_id=data["client_id"],
        )
        for event, data in batch
        if data.get("therapist_id")
    ]
    store(c, items, [])
