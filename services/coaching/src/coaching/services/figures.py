"""Coaching's figures for the operators' overview: per site, acknowledgements missed in the last
7 days (kept per-day tallies) and the coverage gaps of the next 7 days (the rota as it stands:
coaching hours with nobody on call as primary, or as backup). Counts and hours only, no client
data, so nothing here is audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from coaching.bootstrap import Components
from coaching.domain import rota
from coaching.services.common import availability
from dbt_shared.auth import Principal

DAYS = 7  # the overview's window, back for acknowledgements and ahead for coverage
HORIZON = timedelta(days=DAYS)


def site_figures(c: Components, site_id: str, now: datetime) -> dict[str, Any]:
    """One site's figures. Reads: seven tallies by key (index ``key``); the site, its settings
    and rota by ``_id``; its overrides and time off (index ``site``: only what is current or
    to come is kept)."""
    today = now.astimezone(UTC).date()
    figures: dict[str, Any] = {
        "site_id": site_id,
        "missed_acknowledgements_7d": c.repositories.missed_acks_in_days(site_id, today, DAYS),
        "rota_set": False,
        "gaps_7d": None,
        "hours_without_primary_7d": None,
        "hours_without_backup_7d": None,
        "first_gap_at": None,
    }
    site = c.repositories.site(site_id)
    if site is None or c.repositories.rotas.get(site_id) is None:
        return figures  # no rota yet: coaching is being set up, not short-handed
    _spans, gaps = rota.coverage(site["timezone"], *availability(c, site_id), now, now + HORIZON)
    without = {role: timedelta(0) for role in rota.ROLES}
    for gap in gaps:
        without[gap.missing] += gap.end - gap.start
    return {
        **figures,
        "rota_set": True,
        "gaps_7d": len(gaps),
        "hours_without_primary_7d": _hours(without[rota.PRIMARY]),
        "hours_without_backup_7d": _hours(without[rota.BACKUP]),
        "first_gap_at": min((g.start for g in gaps), default=None),
    }


def _hours(span: timedelta) -> float:
    return round(span / timedelta(hours=1), 1)


def one_site(site_id: str, c: Components, principal: Principal) -> dict[str, Any]:
    """``GET /v1/sites/{id}/coaching-figures``: the site's coordinators, operators."""
    principal.require_site(site_id)
    return site_figures(c, site_id, c.clock.now())


def every_site(c: Components, principal: Principal) -> dict[str, Any]:
    """``GET /v1/coaching-figures``: every site the caller may see (operators: all of them;
    coordinators: theirs), one row each, in site id order."""
    allowed = principal.site_filter()  # None: every site
    now = c.clock.now()
    return {
        "items": [
            site_figures(c, site_id, now)
            for site_id in c.repositories.site_ids()  # the site directory: one doc per site
            if allowed is None or site_id in allowed
        ]
    }
