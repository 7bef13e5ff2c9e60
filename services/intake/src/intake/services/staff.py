"""Use cases of the staff directory: who works at which site, in which roles (operators).

Each change records ``intake.staff.changed.v1`` with the member's whole state (no name): every
service, intake included, keeps it in its staff directory (``dbt_shared.staff_directory``), from
which a signed-in person's roles at each site are read. Intake's clinicians (matching: languages,
caseload limit) stay their own records, one per site, linked to the member by ``subject``.
"""

from __future__ import annotations

from typing import Any

from dbt_shared.auth import Principal
from dbt_shared.errors import InvalidInput, NotFound, StaleWrite
from dbt_shared.events import outbox
from dbt_shared.pagination import page
from intake import events
from intake.bootstrap import Components
from intake.domain import staff
from intake.repository import HIDDEN

# A replace decided on a revision another writer changed meanwhile is decided again on the new
# one (the last replace wins, none is lost half-way); this many times at most.
ATTEMPTS = 3


def list_staff(args: dict[str, Any], c: Components) -> tuple[list[dict[str, Any]], str | None]:
    # index: _id; an organisation's staff, hundreds of documents
    return page(
        c.repositories.staff, {}, limit=args["limit"], cursor=args["cursor"], projection=HIDDEN
    )


def me(principal: Principal) -> dict[str, Any]:
    """The caller's roles as every service applies them: organisation-wide, and at each site
    (from the staff directory, or a dev key's claims). For the console, to show what each
    person may do; the services still check every request."""
    sites = principal.sites if principal.site_roles is None else principal.site_roles
    memberships = [
        {"site_id": site_id, "roles": sorted(principal.roles_at(site_id))}
        for site_id in sorted(sites)
        if principal.roles_at(site_id)
    ]
    return {
        "id": principal.subject,
        "organisation_roles": sorted(principal.roles & {"operator"}),
        "memberships": memberships,
    }


def member(subject: str, c: Components) -> dict[str, Any]:
    found = c.repositories.staff.get(subject)  # index: _id
    if found is None:
        raise NotFound("staff member")
    return outbox.public(found)


def put_member(
    subject: str, body: dict[str, Any], c: Components, principal: Principal
) -> tuple[dict[str, Any], bool]:
    """Create or replace a member (name, memberships, active). Returns it and whether it was
    created. Every site named must exist."""
    for index, membership in enumerate(body.get("memberships", [])):
        if c.repositories.site(membership["site_id"]) is None:  # index: _id
            raise InvalidInput.field(f"memberships.{index}.site_id", "No such site.")
    for _ in range(ATTEMPTS):
        current = c.repositories.staff.get(subject)  # index: _id
        try:
            changed = staff.replaced(current, subject, body, c.clock.now())
        except staff.StaffRuleBroken as broken:
            raise InvalidInput.field(broken.field, broken.message) from broken
        if changed is None:
            return outbox.public(current), False  # nothing new: no write, no event
        try:
            stored = _write(current, changed, c)
        except StaleWrite:
            continue
        if stored is None:
            continue  # created meanwhile by another request: decide again on it
        _audit(c, principal, "staff.changed", current, stored)
        return outbox.public(stored), current is None
    raise StaleWrite("staff member")


def deactivate(subject: str, c: Components, principal: Principal) -> dict[str, Any]:
    """The member no longer works here: every service refuses them within seconds, whatever
    their token says. Deactivating twice is once."""
    for _ in range(ATTEMPTS):
        current = c.repositories.staff.get(subject)  # index: _id
        if current is None:
            raise NotFound("staff member")
        changed = staff.deactivated(current, c.clock.now())
        if changed is None:
            return outbox.public(current)
        try:
            stored = _write(current, changed, c)
        except StaleWrite:
            continue
        _audit(c, principal, "staff.deactivated", current, stored)
        return outbox.public(stored)
    raise StaleWrite("staff member")


def _write(
    current: dict[str, Any] | None, changed: dict[str, Any], c: Components
) -> dict[str, Any] | None:
    """The member written with its event: a new one inserted (``None`` when another request
    inserted it first), a known one saved at the revision it was read at (else StaleWrite)."""
    event = events.staff_changed(changed, c.clock)
    if current is None:
        stored, created = c.repositories.staff.insert(changed, [event])
        return stored if created else None
    return c.repositories.staff.save(changed, [event])


def _audit(
    c: Components,
    principal: Principal,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any],
) -> None:
    # One record per site the change concerns, so each site's trail shows who was given or
    # lost a role there; a member of no site yet is on the organisation's trail.
    for site_id in staff.sites_touched(before, after) or ["organisation"]:
        c.repositories.audit.record(
            principal,
            action=action,
            object_type="staff_member",
            object_id=after["_id"],
            site_id=site_id,
        )
