"""The staff directory's rules: who works at which site, in which roles.

A staff member is known by the identity provider's subject (``sub``): the provider says who
signs in, the platform says where they work. Each membership is a site and the roles held
there; roles are per site (a coordinator at one site may be a therapist at another). Operators
are organisation-wide and are not members of sites. Every change gives a new version, which the
other services' read models use to never let an older change undo a newer one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dbt_shared.vocabulary import STAFF_SITE_ROLES

#: At most this many sites per member: an organisation's sites are tens.
MAX_MEMBERSHIPS = 100


class StaffRuleBroken(ValueError):
    """A request the directory's rules refuse; ``field`` names the field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def memberships_of(requested: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The memberships as kept: one per site, roles sorted and without repeats, in site order.
    A site named twice is refused (which of the two would hold?)."""
    seen: set[str] = set()
    kept = []
    for index, membership in enumerate(requested):
        site_id = membership["site_id"]
        if site_id in seen:
            raise StaffRuleBroken(f"memberships.{index}.site_id", "This site is named twice.")
        seen.add(site_id)
        roles = sorted(set(membership["roles"]))
        unknown = [r for r in roles if r not in STAFF_SITE_ROLES]
        if unknown or not roles:
            raise StaffRuleBroken(
                f"memberships.{index}.roles",
                "At least one of: " + ", ".join(STAFF_SITE_ROLES) + ".",
            )
        kept.append({"site_id": site_id, "roles": roles})
    if len(kept) > MAX_MEMBERSHIPS:
        raise StaffRuleBroken("memberships", f"At most {MAX_MEMBERSHIPS} sites.")
    return sorted(kept, key=lambda m: m["site_id"])


def replaced(
    current: dict[str, Any] | None, subject: str, body: dict[str, Any], now: datetime
) -> dict[str, Any] | None:
    """The member after a replace (``PUT``): name, memberships and active flag as sent (a new
    member, or one sent without ``active``, is active). ``None`` when nothing changes."""
    state = {
        "display_name": body["display_name"],
        "memberships": memberships_of(body.get("memberships", [])),
        "active": body.get("active", True),
    }
    if current is not None and all(current.get(k) == v for k, v in state.items()):
        return None
    member = {**(current or {"_id": subject, "created_at": now}), **state}
    return _next_version(member, current, now)


def deactivated(current: dict[str, Any], now: datetime) -> dict[str, Any] | None:
    """The member no longer works here: no role anywhere. ``None`` when already inactive."""
    if not current.get("active", True):
        return None
    return _next_version({**current, "active": False, "deactivated_at": now}, current, now)


def _next_version(
    member: dict[str, Any], current: dict[str, Any] | None, now: datetime
) -> dict[str, Any]:
    version = (current or {}).get("version", 0) + 1
    return {**member, "version": version, "changed_at": now}


def sites_touched(before: dict[str, Any] | None, after: dict[str, Any]) -> list[str]:
    """The sites a change concerns (memberships before and after): one audit record each."""
    sites = {m["site_id"] for m in (before or {}).get("memberships", [])}
    sites |= {m["site_id"] for m in after.get("memberships", [])}
    return sorted(sites)
