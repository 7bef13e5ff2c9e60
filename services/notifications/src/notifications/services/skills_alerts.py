"""What skills-group's attendance events leave behind: an item in the site's inbox (its
coordinators) and in the therapist's own, and for a client at risk an email to the therapist
(reach out before the next session). Ids only."""

from __future__ import annotations

from notifications.bootstrap import Components
from notifications.domain.purposes import Priority
from notifications.services import reminders
from notifications.services.alerts import Batch, delivery, item, ref, store


def _items(event, data: dict, kind: str, now) -> list[dict]:
    """The site's item, and the therapist's own when the client has one."""
    about = {
        "site_id": data["site_id"],
        "kind": kind,
        "priority": Priority.NORMAL,
        "now": now,
        "client_id": data["client_id"],
    }
    found = [item(event, **about)]
    if data.get("therapist_id"):
        found.append(item(event, recipient_id=data["therapist_id"], **about))
    return found


def on_attendance_at_risk(batch: Batch, c: Components) -> None:
    now, items, out = c.clock.now(), [], []
    for event, data in batch:
        items += _items(event, data, "attendance_at_risk", now)
        if data.get("therapist_id"):
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
                    args={"reference": ref(data["client_id"])},
                )
            )
    store(c, items, out)


def on_discharged(batch: Batch, c: Components) -> None:
    now = c.clock.now()
    store(c, [i for e, d in batch for i in _items(e, d, "client_discharged", now)], [])


def on_clients_discharged(batch: Batch, c: Components) -> None:
    """``skills.client.discharged``: the items above, and the member's reminders stop as a
    graduate's do."""
    on_discharged(batch, c)
    reminders.on_members_left(batch, c)
