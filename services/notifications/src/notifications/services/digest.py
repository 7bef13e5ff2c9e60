"""The facilitators' daily digest: at 17:00 site time, tomorrow's sessions of the groups they
facilitate with the number of members expected (counts, never names), by email and in their own
inbox. Once per site and day (keyed on both); the check runs every 10 minutes and reads the
site directory (one document per site) and the groups that have members."""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from notifications.bootstrap import Components
from notifications.domain.deliveries import TransientFailure
from notifications.domain.purposes import Priority, priority_rank
from notifications.services.alerts import store

log = logging.getLogger(__name__)
DIGEST_AT = time(17, 0)
_NAMESPACE = uuid.UUID("6a0f3f5e-2b8d-4b6e-8f41-3d5f3a9c7e20")


def send_digests(c: Components) -> int:
    """Every site where it is past 17:00 and today's digest is not out yet; answers how many
    facilitators it went to."""
    now = c.clock.now()
    sent = 0
    groups_by_site: dict[str, set[str]] = defaultdict(set)
    for e in c.repositories.enrollments.find({"status": "active"}):  # index: status
        groups_by_site[e["site_id"]].add(e["group_id"])
    for site_id, groups in sorted(groups_by_site.items()):
        zone = ZoneInfo(c.repositories.site_zones.timezone_of(site_id) or "UTC")
        local = now.astimezone(zone)
        if local.time() < DIGEST_AT:
            continue
        marker = f"digest:{site_id}:{local.date().isoformat()}"
        if c.repositories.settings.get(marker) is not None:
            continue
        try:
            sent += _site_digest(c, site_id, sorted(groups), local, now)
        except TransientFailure:
            log.warning(
                "digest not sent yet: skills-group did not answer", extra={"site_id": site_id}
            )
            continue
        c.repositories.settings.insert({"_id": marker, "site_id": site_id, "sent_at": now})
    return sent


def _site_digest(c, site_id: str, groups: list[str], local: datetime, now: datetime) -> int:
    tomorrow = local.date() + timedelta(days=1)
    by_facilitator: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for group_id in groups:
        expected = len(c.repositories.enrolled(group_id))
        for session in c.sessions.sessions(
            group_id, local.date().isoformat(), tomorrow.isoformat()
        ):
            starts = datetime.fromisoformat(session["starts_at"]).astimezone(local.tzinfo)
            if starts.date() != tomorrow or session.get("status") == "cancelled":
                continue
            line = {
                "time": starts.strftime("%H:%M"),
                "room": session.get("room") or "",
                "count": expected,
            }
            for facilitator in session.get("facilitator_ids") or []:
                by_facilitator[facilitator].append(line)
    items, out = [], []
    day = tomorrow.strftime("%a %-d %b")
    for facilitator, sessions in sorted(by_facilitator.items()):
        key = f"digest:{site_id}:{tomorrow.isoformat()}:{facilitator}"
        args = {"day": day, "sessions": sorted(sessions, key=lambda s: s["time"])}
        out.append(
            {
                "_id": str(uuid.uuid5(_NAMESPACE, key)),
                "site_id": site_id,
                "channel": "email",
                "purpose": "facilitator_digest",
                "recipient_kind": "clinician",
                "recipient_id": facilitator,
                "subject_ref": tomorrow.isoformat(),
                "text_args": args,
                "priority": Priority.NORMAL,
                "priority_rank": priority_rank(Priority.NORMAL),
                "at_once": False,
                "status": "pending",
                "attempts": 0,
                "due_at": now,
                "next_attempt_at": now,
                "created_at": now,
                "cause_event_id": key,
                "correlation_id": None,
            }
        )
        items.append(
            {
                "_id": str(uuid.uuid5(_NAMESPACE, key + ":inbox")),
                "site_id": site_id,
                "recipient_id": facilitator,
                "kind": "facilitator_digest",
                "priority": Priority.NORMAL,
                "priority_rank": priority_rank(Priority.NORMAL),
                "sessions": len(sessions),
                "status": "open",
                "created_at": now,
                "cause_event_id": key,
            }
        )
    store(c, items, out)
    return len(out)
