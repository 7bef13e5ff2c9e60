"""Coaching's figures for the operators' overview: per site, acknowledgements missed in the last
7 days (kept per-day tallies) and the coverage gaps of the next 7 days (the rota as it stands:
coaching hours with nobody on call as primary, or as backup). Counts and hours only, no client
data, so nothing here is audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from coaching.bootstrap import Components
from coaching.domain import rota
from coaching.services.common import COORDINATING, availability, availability_of, settings_of
from dbt_shared.auth import Principal
from dbt_shared.clock import aware
from dbt_shared.errors import Forbidden

DAYS = 7  # the overview's window, back for acknowledgements and ahead for coverage
HORIZON = timedelta(days=DAYS)


def site_figures(c: Components, site_id: str, now: datetime) -> dict[str, Any]:
    """One site's figures. Reads: seven tallies by key (index ``key``); the site, its settings
    and rota by ``_id``; its overrides and time off (index ``site``: only what is current or
    to come is kept)."""
    today = now.astimezone(UTC).date()
    site = c.repositories.site(site_id)
    layers = c.repositories.rotas.get(site_id)
    return _figures(
        site_id,
        c.repositories.missed_acks_in_days(site_id, today, DAYS),
        site,
        layers,
        lambda: availability(c, site_id),
        now,
    )


def _figures(site_id, missed, site, layers, available, now) -> dict[str, Any]:
    """A site's row from what was read: its missed acknowledgements, its directory entry and
    rota layers (``None``: not known or no rota yet), ``available()`` its availability."""
    figures: dict[str, Any] = {
        "site_id": site_id,
        "missed_acknowledgements_7d": missed,
        "rota_set": False,
        "gaps_7d": None,
        "hours_without_primary_7d": None,
        "hours_without_backup_7d": None,
        "first_gap_at": None,
    }
    if site is None or layers is None:
        return figures  # no rota yet: coaching is being set up, not short-handed
    _spans, gaps = rota.coverage(site["timezone"], *available(), now, now + HORIZON)
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
    coordinators: theirs), one row each, in site id order, the same rows as ``site_figures``
    but read for all sites at once, so the cost follows the number of sites: seven reads of a
    day's missed-acknowledgement tallies (index ``kind_day``), and one read each of the site
    directory, the rotas and the settings (one document per site) and of the overrides and time
    off (only what is current or to come is kept: purged when ended), never a round per site."""
    allowed = principal.site_filter()  # None: every site
    now = c.clock.now()
    r = c.repositories
    missed = r.missed_acks_in_days_by_site(now.astimezone(UTC).date(), DAYS)
    sites = {s["_id"]: s for s in r.sites.find({}) if allowed is None or s["_id"] in allowed}
    rotas = {d["_id"]: d for d in r.rotas.find({})}
    settings = {d["_id"]: d for d in r.settings.find({})}
    overrides: dict[str, list[dict[str, Any]]] = {}
    for o in sorted(r.overrides.find({}), key=lambda o: (aware(o["created_at"]), o["_id"])):
        overrides.setdefault(o.get("site_id"), []).append(o)
    time_off: dict[str, list[dict[str, Any]]] = {}
    for t in sorted(r.time_off.find({}), key=lambda t: t["_id"]):
        time_off.setdefault(t.get("site_id"), []).append(t)

    def available(site_id: str):
        return lambda: availability_of(
            settings_of(settings.get(site_id)),
            rotas.get(site_id),
            overrides.get(site_id, []),
            time_off.get(site_id, []),
        )

    return {
        "items": [
            _figures(
                site_id,
                missed.get(site_id, 0),
                sites[site_id],
                rotas.get(site_id),
                available(site_id),
                now,
            )
            for site_id in sorted(sites)
        ]
    }


def missed_acknowledgements(site_id: str, c: Components, principal: Principal) -> dict[str, Any]:
    """The list behind ``missed_acknowledgements_7d``: the site's requests whose acknowledgement
    deadline passed today and the 6 days before (UTC), newest first; seven reads by (site, day)
    (index ``site_day`` of ``missed_acks``). Its coordinators, operators. Which clients' requests
    waited is their health data: audited, naming each request, before the answer."""
    principal.require_site(site_id)
    if not principal.holds_at(site_id, *COORDINATING):
        raise Forbidden("The site's missed acknowledgements are for its coordinators.")
    today = c.clock.now().astimezone(UTC).date()
    records = [
        record
        for n in range(DAYS)
        for record in c.repositories.missed_acks_on(site_id, today - timedelta(days=n))
    ]
    records.sort(key=lambda r: aware(r["missed_at"]), reverse=True)
    shown = [r["_id"] for r in records] or None
    c.repositories.audit.record_list(principal, "missed_acks.list", "request_list", site_id, shown)
    items = [
        {
            "request_id": r["_id"],
            "kind": r.get("kind"),
            "client_id": r.get("client_id"),
            "missed_at": aware(r["missed_at"]),
        }
        for r in records
    ]
    return {"site_id": site_id, "days": DAYS, "items": items}
