"""Use cases of the organisation: sites, their programs and their clinicians."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from dbt_shared.auth import Principal
from dbt_shared.contracts.intake import SITE_CHANGEABLE
from dbt_shared.errors import Conflict, Duplicate, InvalidInput, NotFound
from dbt_shared.events import outbox
from dbt_shared.pagination import page
from intake import events
from intake.bootstrap import Components
from intake.domain import phones, programs
from intake.repository import HIDDEN

ALREADY_REGISTERED = "A clinician with this subject is already registered at the site."


# -- sites -------------------------------------------------------------------------------------
def register_site(body: dict[str, Any], c: Components, new_id: str) -> dict[str, Any]:
    """A new site; its ``phone_region`` (the country of numbers written without a country code)
    is the one given, else its time zone's country, else none."""
    region = body.get("phone_region") or phones.region_of_zone(body["timezone"])
    if body.get("phone_region") and not phones.region_known(region):
        raise InvalidInput.field("phone_region", "Not a country code known for phone numbers.")
    body = {**body, "phone_region": region}
    lead = body.get("clinical_lead")
    if lead and lead.get("phone"):
        number = e164(body, lead["phone"], "clinical_lead.phone")
        body["clinical_lead"] = {**lead, "phone": number}
    site = {"_id": new_id, **body, "created_at": c.clock.now()}
    stored, _ = c.repositories.sites.insert(site, [events.site_registered(site, c.clock)])
    return outbox.public(stored)


def change_site(
    site_id: str, body: dict[str, Any], c: Components, principal: Principal
) -> dict[str, Any]:
    """Change some of a site's details; the others keep their values. A new time zone moves
    the site's calendars and quiet hours in every service (``intake.site.updated.v1``, which
    names the changed fields); the phone region stays as it was unless it is sent."""
    principal.require_site(site_id)
    current = c.repositories.sites.get(site_id)  # index: _id
    if current is None:
        raise NotFound("site")
    if body.get("phone_region") and not phones.region_known(body["phone_region"]):
        raise InvalidInput.field("phone_region", "Not a country code known for phone numbers.")
    changed_site = {**current, **body}
    lead = body.get("clinical_lead")
    if lead and lead.get("phone"):
        number = e164(changed_site, lead["phone"], "clinical_lead.phone")
        changed_site["clinical_lead"] = {**lead, "phone": number}
    changed = [f for f in SITE_CHANGEABLE if f in body and current.get(f) != changed_site[f]]
    if not changed:
        return outbox.public(current)  # nothing new: no write, no event
    changed_site["updated_at"] = c.clock.now()
    stored = c.repositories.sites.save(
        changed_site, [events.site_updated(changed_site, changed, c.clock)]
    )
    return outbox.public(stored)


def list_sites(args: dict[str, Any], c: Components, principal: Principal):
    # index: _id (the caller's sites, or every site for operators and services)
    return page(
        c.repositories.sites,
        principal.scope({}, site_field="_id"),
        limit=args["limit"],
        cursor=args["cursor"],
        projection=HIDDEN,
    )


def site(site_id: str, c: Components, principal: Principal) -> dict[str, Any]:
    principal.require_site(site_id)
    found = c.repositories.site(site_id)
    if found is None:
        raise NotFound("site")
    return found


def e164(site: dict[str, Any], number: str | None, field: str) -> str | None:
    """``number`` as intake stores it (E.164; one written without its country code is of the
    site's country), ``None`` for none; a 422 naming ``field`` (and not the number) otherwise."""
    if number is None:
        return None
    try:
        return phones.to_e164(number, phones.phone_region(site))
    except phones.NotAPhoneNumber as exc:
        raise InvalidInput.field(field, str(exc)) from exc


def site_e164(c: Components, site_id: str, number: str | None, field: str) -> str | None:
    """``e164`` for a number of ``site_id``'s: the site is read only for a number written
    without its country code (a number with ``+`` needs no region)."""
    if number is None or number.strip().startswith("+"):
        return e164({}, number, field)
    return e164(c.repositories.site(site_id) or {}, number, field)


# -- programs ----------------------------------------------------------------------------------
def _program_state(site_id: str, kind: str, settings: programs.ProgramSettings) -> dict:
    return {
        "site_id": site_id,
        "kind": kind,
        "settings": {**asdict(settings), "cycle_weeks": programs.cycle_weeks(settings.curriculum)},
    }


def _settings(kind: str, overrides: dict[str, Any]) -> programs.ProgramSettings:
    try:
        return programs.settings_with(kind, overrides)
    except programs.SettingRejected as exc:
        raise InvalidInput.field(exc.field, str(exc)) from exc


def create_program(site_id: str, body: dict[str, Any], c: Components, principal: Principal):
    site(site_id, c, principal)
    settings = _settings(body["kind"], body["settings"])
    now = c.clock.now()
    program = {
        "_id": f"{site_id}:{body['kind']}",
        **_program_state(site_id, body["kind"], settings),
        "created_at": now,
        "updated_at": now,
    }
    stored, created = c.repositories.programs.insert(
        program, [events.program_configured(program, c.clock)]
    )
    if not created:
        raise Conflict(f"The site already has a {body['kind']} program; PATCH its settings.")
    return outbox.public(stored)


def list_programs(site_id: str, c: Components, principal: Principal) -> list[dict[str, Any]]:
    site(site_id, c, principal)
    return c.repositories.programs_of(site_id)


def change_program(
    site_id: str, program_id: str, body: dict[str, Any], c: Components, principal: Principal
):
    """Change some settings of a program; the others keep their values."""
    site(site_id, c, principal)
    current = c.repositories.programs.get(program_id)  # index: _id
    if current is None or current["site_id"] != site_id:
        raise NotFound("program")
    kept = {k: v for k, v in current["settings"].items() if k != "cycle_weeks"}
    try:
        settings = programs.settings_with(current["kind"], {**kept, **body["settings"]})
    except programs.SettingRejected as exc:
        if exc.for_kind:  # refused because of the stored program's kind, not the body's shape
            raise Conflict(str(exc)) from exc
        raise InvalidInput.field(exc.field, str(exc)) from exc
    changed = {**current, **_program_state(site_id, current["kind"], settings)}
    changed["updated_at"] = c.clock.now()
    stored = c.repositories.programs.save(changed, [events.program_configured(changed, c.clock)])
    return outbox.public(stored)


# -- clinicians --------------------------------------------------------------------------------
def register_clinician(
    site_id: str, body: dict[str, Any], c: Components, principal: Principal, new_id: str
) -> dict[str, Any]:
    found = site(site_id, c, principal)
    if c.repositories.subject_registered(site_id, body["subject"]):
        raise Conflict(ALREADY_REGISTERED)
    if body.get("phone"):  # their pages go out by SMS: stored in E.164 like every number
        body = {**body, "phone": e164(found, body["phone"], "phone")}
    clinician = {
        "_id": new_id,
        "site_id": site_id,
        **body,
        "active": True,
        "created_at": c.clock.now(),
    }
    try:
        stored, _ = c.repositories.clinicians.insert(
            clinician, [events.clinician_registered(clinician, c.clock)]
        )
    except Duplicate as exc:  # registered by someone else at the same moment
        raise Conflict(ALREADY_REGISTERED) from exc
    return {**outbox.public(stored), "caseload": 0}


def deactivate_clinician(
    site_id: str, clinician_id: str, c: Components, principal: Principal
) -> dict[str, Any]:
    """A clinician leaves the site: no longer matched to new clients, and the other services
    end what they gave them (``intake.clinician.deactivated.v1``). Deactivating twice is one."""
    site(site_id, c, principal)
    clinician = c.repositories.clinicians.get(clinician_id)  # index: _id
    if clinician is None or clinician["site_id"] != site_id:
        raise NotFound("clinician")
    if clinician.get("active", True):
        clinician = {**clinician, "active": False, "deactivated_at": c.clock.now()}
        clinician = c.repositories.clinicians.save(
            clinician, [events.clinician_deactivated(clinician, c.clock)]
        )
    caseload = c.repositories.caseload(clinician_id)
    return {**outbox.public(clinician), "caseload": caseload}


def list_clinicians(site_id: str, c: Components, principal: Principal) -> list[dict[str, Any]]:
    """The site's clinicians with their current caseload."""
    site(site_id, c, principal)
    caseloads = c.repositories.caseloads(site_id)
    return [
        {**clinician, "caseload": caseloads.get(clinician["_id"], 0)}
        for clinician in c.repositories.clinicians_of(site_id)
    ]
