"""Availability: published coaching hours, the weekly rota, overrides and time off, the
coverage timeline and its gaps (each gap in the next 7 days reported once)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from coaching import events, metrics
from coaching.bootstrap import Components
from coaching.domain import rota
from coaching.services.common import (
    COORDINATING,
    acting_clinician,
    availability,
    aware,
    site_settings,
    window_doc,
    windows,
    zone_of,
)
from dbt_shared.auth import Principal
from dbt_shared.errors import Forbidden, InvalidInput, NotFound
from dbt_shared.storage import documents
from dbt_shared.vocabulary import SITE_STAFF

GAP_HORIZON = timedelta(days=7)
ALERT_HORIZON = timedelta(hours=24)  # a gap starting this soon is alerted on (operations)
MAX_COVERAGE_DAYS = 62


def _coordinator_of(principal: Principal, site_id: str) -> None:
    principal.require_site(site_id)
    if not principal.holds_at(site_id, *COORDINATING):  # at this site, not at any
        raise Forbidden("Only the site's coordinators may change its coaching availability.")


def _check_windows(docs: list[dict[str, Any]], name: str) -> list[rota.Window]:
    found = windows(docs)
    for index, field, message in rota.window_errors(found):
        raise InvalidInput.field(f"{name}[{index}].{field}", message)
    return found


def _check_clinicians(c: Components, site_id: str, docs: list[dict[str, Any]], name: str):
    for n, doc in enumerate(docs):
        clinician = c.repositories.clinicians.get(doc["clinician_id"])
        if clinician is None or clinician["site_id"] != site_id:
            raise InvalidInput.field(f"{name}[{n}].clinician_id", "No such clinician at this site.")


def put_hours(site_id: str, body: dict[str, Any], c: Components, principal: Principal):
    _coordinator_of(principal, site_id)
    zone_of(c, site_id)
    _check_windows(body["hours"], "hours")
    document = {"_id": site_id, "site_id": site_id, **body, "updated_at": c.clock.now()}
    documents.put(c.repositories.settings, document)
    check_gaps(c, site_id)
    return hours_view(site_id, c, principal)


def hours_view(site_id: str, c: Components, principal: Principal) -> dict[str, Any]:
    principal.require_site(site_id)
    if not principal.has_role(*SITE_STAFF):
        raise NotFound("site")
    return {"site_id": site_id, **site_settings(c, site_id)}


def put_rota(site_id: str, body: dict[str, Any], c: Components, principal: Principal):
    _coordinator_of(principal, site_id)
    zone_of(c, site_id)
    for layer in ("primary", "backup"):
        _check_windows(body[layer], layer)
        _check_clinicians(c, site_id, body[layer], layer)
    document = {
        "_id": site_id,
        "site_id": site_id,
        "primary": [window_doc(w) for w in windows(body["primary"])],
        "backup": [window_doc(w) for w in windows(body["backup"])],
        "updated_at": c.clock.now(),
    }
    documents.put(c.repositories.rotas, document)
    check_gaps(c, site_id)
    return rota_view(site_id, c, principal)


def rota_view(site_id: str, c: Components, principal: Principal) -> dict[str, Any]:
    principal.require_site(site_id)
    if not principal.has_role(*SITE_STAFF):
        raise NotFound("site")
    layers = c.repositories.rotas.get(site_id) or {}
    return {
        "site_id": site_id,
        "primary": layers.get("primary", []),
        "backup": layers.get("backup", []),
        "overrides": [_public(o) for o in c.repositories.overrides_of(site_id)],
        # current and coming time off (ended entries are purged): the rota page marks it
        "time_off": [_public(t) for t in c.repositories.time_off_of_site(site_id)],
    }


def _public(doc: dict[str, Any]) -> dict[str, Any]:
    return {"id": doc["_id"], **{k: v for k, v in doc.items() if not k.startswith("_")}}


def _span(body: dict[str, Any]) -> tuple[datetime, datetime]:
    start, end = body["from_"], body["to"]
    if end <= start:
        raise InvalidInput.field("to", "Must be later than from.")
    return start.astimezone(UTC), end.astimezone(UTC)


def add_override(site_id: str, body: dict[str, Any], c: Components, principal: Principal):
    _coordinator_of(principal, site_id)
    _check_clinicians(c, site_id, [body], "body")
    start, end = _span(body)
    override = {
        "_id": uuid.uuid4().hex,
        "site_id": site_id,
        "clinician_id": body["clinician_id"],
        "role": body["role"],
        "from": start,
        "to": end,
        "created_at": c.clock.now(),
    }
    stored, _ = c.repositories.overrides.insert(override)
    _purge_ended(c.repositories.overrides, c.repositories.overrides_of(site_id), c.clock.now())
    check_gaps(c, site_id)
    return _public(stored)


def add_time_off(clinician_id: str, body: dict[str, Any], c: Components, principal: Principal):
    clinician = c.repositories.clinicians.get(clinician_id)
    if clinician is None or not principal.can_act_on_site(clinician["site_id"]):
        raise NotFound("clinician")
    own = principal.has_role(*SITE_STAFF) and clinician.get("subject") == principal.subject
    if not own and not principal.holds_at(clinician["site_id"], *COORDINATING):
        raise Forbidden("Only the clinician or the site's coordinators may record time off.")
    start, end = _span(body)
    entry = {
        "_id": uuid.uuid4().hex,
        "site_id": clinician["site_id"],
        "clinician_id": clinician_id,
        "from": start,
        "to": end,
        "created_at": c.clock.now(),
    }
    stored, _ = c.repositories.time_off.insert(entry)
    site_id = clinician["site_id"]
    _purge_ended(c.repositories.time_off, c.repositories.time_off_of_site(site_id), c.clock.now())
    check_gaps(c, site_id)
    return _public(stored)


def _purge_ended(store, docs: list[dict[str, Any]], now: datetime) -> None:
    """Overrides and time off that are over leave the site's list (which then holds only what
    is current or to come, and every on-call question reads it)."""
    for doc in docs:
        if aware(doc["to"]) <= now:
            store.delete(doc["_id"])


# -- coverage ------------------------------------------------------------------------------------
def _local_midnight(day: date, zone: str) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def coverage(site_id: str, args: dict[str, Any], c: Components, principal: Principal):
    principal.require_site(site_id)
    if not principal.has_role(*SITE_STAFF):
        raise NotFound("site")
    zone = zone_of(c, site_id)
    first = args.get("from_") or c.clock.now().astimezone(ZoneInfo(zone)).date()
    last = args.get("to") or first + timedelta(days=6)
    if last < first:
        raise InvalidInput.field("to", "Must not be before from.")
    if (last - first).days >= MAX_COVERAGE_DAYS:
        raise InvalidInput.field("to", f"At most {MAX_COVERAGE_DAYS} days at once.")
    start, end = _local_midnight(first, zone), _local_midnight(last + timedelta(days=1), zone)
    spans, gaps = rota.coverage(zone, *availability(c, site_id), start, end)
    acting = principal.has_role("therapist", "facilitator") and not principal.holds_at(
        site_id, *COORDINATING
    )
    if acting:
        acting_clinician(c, principal, site_id)  # a clinician of another site sees nothing
    return {
        "site_id": site_id,
        "timezone": zone,
        "timeline": [
            {"start": s.start, "end": s.end, "primary": s.primary, "backup": s.backup}
            for s in spans
        ],
        "gaps": [{"start": g.start, "end": g.end, "missing": g.missing} for g in gaps],
    }


def check_gaps(c: Components, site_id: str) -> int:
    """Report each gap of the next 7 days once (``coaching.coverage.gap_detected.v1``), from
    the moment the site has a rota; answers how many were new.

    The site's watch (``coverage_watch``) keeps the gaps reported and not over yet: a gap that
    overlaps one of them for the same role was reported already (a gap under way, checked again
    an hour later, starts later and is the same gap). Coverage is computed a day past the
    horizon, so that a gap running across it keeps its real end."""
    site = c.repositories.site(site_id)
    if site is None or c.repositories.rotas.get(site_id) is None:
        return 0  # no rota yet: coaching is still being set up, not short-handed
    now = c.clock.now()
    with c.locks(f"coverage-watch/{site_id}"):
        _spans, gaps = rota.coverage(
            site["timezone"],
            *availability(c, site_id),
            now,
            now + GAP_HORIZON + timedelta(days=1),
        )
        # For OnCallCoverageGap: the gaps this check computed anyway that start within a day
        # (a gap under way starts now); nothing more is read.
        soon = sum(1 for gap in gaps if gap.start < now + ALERT_HORIZON)
        metrics.COVERAGE_GAPS_NEXT_24H.labels(site_id).set(soon)
        watch = c.repositories.watches.get(site_id) or {"_id": site_id, "reported": []}
        reported = [r for r in watch["reported"] if aware(r["end"]) > now]
        new = 0
        for gap in gaps:
            if gap.start >= now + GAP_HORIZON:
                continue
            if any(
                r["missing"] == gap.missing
                and aware(r["start"]) < gap.end
                and gap.start < aware(r["end"])
                for r in reported
            ):
                continue
            doc = {
                "_id": uuid.uuid4().hex,
                "site_id": site_id,
                "missing": gap.missing,
                "starts_at": gap.start,
                "ends_at": gap.end,
                "detected_at": now,
            }
            c.repositories.gaps.insert(doc, [events.coverage_gap(doc, c.clock)])
            reported.append({"missing": gap.missing, "start": gap.start, "end": gap.end})
            new += 1
        if new or len(reported) != len(watch["reported"]):
            documents.put(c.repositories.watches, {**watch, "reported": reported})
    return new


def check_all_gaps(c: Components) -> int:
    """The hourly check: every site (the site directory: one document per site)."""
    return sum(check_gaps(c, site_id) for site_id in c.repositories.site_ids())
