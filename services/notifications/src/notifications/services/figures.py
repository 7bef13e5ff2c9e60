"""Notifications' figures for the operators' overview, every site in one call (each site's row
is ``inbox.site_figures``, the same as ``GET /v1/sites/{id}/notification-figures``), and the
list behind the failed-deliveries figure: a site's deliveries that failed for good in the last 7
days, one small record each (kept when the delivery fails, read by day)."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

from dbt_shared.auth import Principal
from dbt_shared.clock import aware
from dbt_shared.errors import Forbidden
from notifications.bootstrap import Components
from notifications.services import inbox
from notifications.services.people import COORDINATING

DAYS = inbox.FAILED_DAYS


def every_site(c: Components, principal: Principal) -> dict[str, Any]:
    """Every site the caller may see (operators: all; coordinators: theirs), in id order, the
    same figures as ``inbox.site_figures``: the unread tallies in one read and the failure
    tallies in one read per day of the window, for all sites at once (cost follows the sites,
    not one round of reads per site); no client data (not audited)."""
    allowed = principal.site_filter()  # None: every site
    today = c.clock.now().astimezone(UTC).date()
    unread = c.repositories.inbox.unread_by_site()
    failed = c.repositories.figures.failed_in_days_by_site(today, DAYS)
    return {
        "items": [
            {
                "site_id": site_id,
                "unread_inbox": unread.get(site_id, 0),
                "failed_deliveries_7d": failed.get(site_id, 0),
            }
            for site_id in c.repositories.site_zones.site_ids()  # one document per site
            if allowed is None or site_id in allowed
        ]
    }


def failed_deliveries(site_id: str, c: Components, principal: Principal) -> dict[str, Any]:
    """The site's deliveries that failed for good today and the 6 days before (UTC), newest
    first: seven reads by (site, day) (index ``site_day`` of ``failed_deliveries``). Whose they
    were is a person's notification data: audited (``delivery.list_failed``) before the answer."""
    principal.require_site(site_id)
    if not principal.holds_at(site_id, *COORDINATING):
        raise Forbidden("The site's delivery audit is for its coordinators.")
    c.repositories.audit.record_list(principal, "delivery.list_failed", "delivery", site_id)
    today = c.clock.now().astimezone(UTC).date()
    items = [
        _view(record)
        for n in range(DAYS)
        for record in reversed(c.repositories.figures.failed_on(site_id, today - timedelta(days=n)))
    ]
    items.sort(key=lambda d: d["failed_at"], reverse=True)
    return {"site_id": site_id, "days": DAYS, "items": items}


def _view(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": record["_id"],
        "purpose": record.get("purpose"),
        "channel": record.get("channel"),
        "recipient_kind": record.get("recipient_kind"),
        "recipient_id": record.get("recipient_id"),
        "attempts": record.get("attempts", 0),
        "failed_at": aware(record["failed_at"]),
    }
