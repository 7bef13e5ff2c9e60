"""What the crisis path knows before it records a request: who asks (always answered: what
could not be verified is recorded, never used to refuse) and, read at once, the site's coaching
settings and who is on call now."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from coaching.bootstrap import Components
from coaching.domain import rota
from coaching.services.common import availability_of, settings_of, site_settings
from dbt_shared.auth import Principal
from dbt_shared.errors import Forbidden, NotFound
from dbt_shared.storage.context import together

_UNREAD = object()


def requester(c: Components, principal: Principal, crisis: bool, known: Any = _UNREAD):
    """The calling client's record and what could not be verified about them. The crisis path
    is always open: a client coaching has not learned of (not admitted, or intake's event still
    on its way) is answered with the emergency route and paged for at the site their token
    names; only the other kinds of request need the record. ``known``: the record as read
    already (``None``: coaching has none)."""
    if not principal.has_role("client"):
        raise Forbidden("Only a client may do this, for themselves.")
    client = c.repositories.client(principal.subject) if known is _UNREAD else known
    if client is not None:
        return client, []
    if not crisis:
        raise NotFound("client")
    sites = sorted(principal.sites)
    unverified = ["client_unknown"]
    if len(sites) > 1:
        unverified.append("site_ambiguous")  # the first is paged: a person sorts it out
    site_id = sites[0] if sites else None
    if site_id is None or c.repositories.site(site_id) is None:
        unverified.append("site_unknown")  # nobody on call known here: the lead and intake
    return {"_id": principal.subject, "site_id": site_id, "therapist_id": None}, unverified


def crisis_asked(c: Components, principal: Principal, now: datetime):
    """A crisis request's asker, what could not be verified, the site's settings and who is on
    call there now, in one round of reads: the client's record is read at once with the site
    their token names (a known client's site is that one; should it not be, the site's reads
    are made again for the client's)."""
    if not principal.has_role("client"):
        raise Forbidden("Only a client may do this, for themselves.")
    named = sorted(principal.sites)[0] if principal.sites else None
    reads: dict[str, Callable[[], Any]] = {
        "asker": lambda: c.repositories.client(principal.subject)
    }
    if named is not None:
        reads.update(_site_reads(c, named))
    read = together(c.storage, **reads)
    client, unverified = requester(c, principal, True, read["asker"])
    site_id = client["site_id"]
    if site_id is not None and site_id == named:
        return client, unverified, *_on_call_of(read, now)
    return client, unverified, *site_on_call(c, site_id, now)


def site_on_call(c: Components, site_id: str | None, now: datetime):
    """The site's coaching settings and its primary and backup on call now, their five reads
    made at once (``together``): the crisis page waits for the slowest, not their sum."""
    if site_id is None:
        return site_settings(c, None), (None, None)
    return _on_call_of(together(c.storage, **_site_reads(c, site_id)), now)


def _site_reads(c: Components, site_id: str) -> dict[str, Callable[[], Any]]:
    repositories = c.repositories
    return {
        "stored": lambda: repositories.settings.get(site_id),
        "site": lambda: repositories.site(site_id),
        "layers": lambda: repositories.rotas.get(site_id),
        "overrides": lambda: repositories.overrides_of(site_id),
        "time_off": lambda: repositories.time_off_of_site(site_id),
    }


def _on_call_of(read: dict[str, Any], now: datetime):
    settings = settings_of(read["stored"])
    if read["site"] is None:  # the site not learned yet: nobody on call, the lead is reached
        return settings, (None, None)
    layers = availability_of(settings, read["layers"], read["overrides"], read["time_off"])
    primary, backup, _within = rota.on_call(read["site"]["timezone"], *layers, now)
    return settings, (primary, backup)
