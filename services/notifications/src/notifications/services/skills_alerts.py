"""What skills-group's attendance events leave behind: an item in the site's inbox (its
coordinators) and in the therapist's own, and for a client at risk an email to the therapist
(reach out before the next session). Ids only."""

from __future__ import annotations

from notifications.bootstrap import Components
from notifications.domain.purposes import Priority
from notifications.services.alerts import Batch, delivery, item, ref, store


def on_attendance_at_risk(batch: Batch, c: Components) -> None:
    now, items, out = c.clock.now(), [], []
    for event, data in batch:
        args = {"reference": ref(data["client_id"])}
        items.append(
            item(
                event,
                site_id=data["site_id"],
                kind="attendance_at_risk",
                priority=Priority.NORMAL,
                now=now,
                client_id=data["client_id"],
            )
        )
        if data.get("therapist_id"):
            items.append(
                item(
                    event,
                    site_id=data["site_id"],
                    kind="attendance_at_risk",
                    priority=Priority.NORMAL,
                    now=now,
                    recipient_id=data["therapist_id"],
                    client_id=data["client_id"],
                )
            )
            out.append(
                delivery(
                    event,
                    site_id=data["site_id"],
                    purpose="attendance_at_risk",
                    kind="clinician",
                    recipient_id=data["therapist_id"],
                    channel="email",
                    priority=Priority.NORMAL,
                    now=now,
                    args=args,
                )
            )
    store(c, items, out)


def on_discharged(batch: Batch, c: Components) -> None:
    now, items = c.clock.now(), []
    for event, data in batch:
        items.append(
            item(
                event,
                site_id=data["site_id"],
                kind="client_discharged",
                priority=Priority.NORMAL,
                now=now,
                client_id=data["client_id"],
            )
        )
        if data.get("therapist_id"):
            items.append(
                item(
                    event,
                    site_id=data["site_id"],
                    kind="client_discharged",
                    priority=Priority.NORMAL,
                    now=now,
                    recipient_id=data["therapist_id"],
                    client_id=data["client_id"],
                )
            )
    store(c, items, [])
