"""The events coaching records (contracts in ``dbt_shared.contracts.coaching``: ids and codes,
never diary content, ratings or notes) and the intake and skills-group events it consumes."""

from __future__ import annotations

from typing import Any

from dbt_shared.clock import Clock
from dbt_shared.contracts import coaching, intake, skills
from dbt_shared.events.builders import EventBuilder, fields_of, iso
from dbt_shared.events.catalog import Catalog
from dbt_shared.events.envelope import Event

SERVICE = "coaching"
# The event types it publishes and consumes (their topics are created when the worker starts).
CATALOG = Catalog.of(intake, skills, coaching)
_event = EventBuilder(SERVICE, CATALOG)


def _request_event(type_: str, r: dict[str, Any], data: dict[str, Any], clock: Clock) -> Event:
    """Keyed by the client (their requests stay in order); which request, whose, where."""
    about = fields_of(r, "client_id", "site_id", request_id="_id")
    return _event(type_, r["client_id"], f"coaching-requests/{r['_id']}", about | data, clock)


def request_created(r: dict[str, Any], clock: Clock) -> Event:
    told = ("kind", "status", "crisis", "routed_to", "notified", "notify_clinical_lead")
    deadlines = ("notify_site_intake", "acknowledge_by", "call_back_by", "created_at")
    data = fields_of(r, *told, *deadlines) | {"unverified": list(r.get("unverified", []))}
    return _request_event(coaching.REQUEST_CREATED, r, data, clock)


def request_released(r: dict[str, Any], clock: Clock) -> Event:
    told = ("kind", "routed_to", "notified", "notify_clinical_lead")
    data = fields_of(r, *told, "acknowledge_by", "call_back_by", "released_at")
    return _request_event(coaching.REQUEST_RELEASED, r, data, clock)


def request_step(type_: str, r: dict[str, Any], by: str, clock: Clock) -> Event:
    return _request_event(type_, r, {"by": by, "at": iso(clock.now())}, clock)


def request_escalated(r: dict[str, Any], deadline: str, level: int, to, clock: Clock) -> Event:
    data = {"deadline": deadline, "level": level, "to": to, "notify_clinical_lead": to is None}
    data["escalated_at"] = iso(clock.now())
    return _request_event(coaching.REQUEST_ESCALATED, r, data, clock)


def coverage_gap(gap: dict[str, Any], clock: Clock) -> Event:
    data = fields_of(gap, "site_id", "missing", "starts_at", "ends_at", gap_id="_id")
    data["detected_at"] = iso(clock.now())
    subject = f"sites/{gap['site_id']}/coverage"
    return _event(coaching.COVERAGE_GAP, gap["site_id"], subject, data, clock)


def diary_card_submitted(card: dict[str, Any], clock: Clock) -> Event:
    data = fields_of(card, "client_id", "site_id", "date", card_id="_id")
    data["submitted_at"] = iso(clock.now())
    subject = f"diary-cards/{card['_id']}"
    return _event(coaching.DIARY_CARD_SUBMITTED, card["client_id"], subject, data, clock)


def risk_flagged(card: dict[str, Any], therapist_id: str | None, clock: Clock) -> Event:
    data = fields_of(card, "client_id", "site_id", source_id="_id")
    data.update(therapist_id=therapist_id, source="diary_card", level="high")
    data["flagged_at"] = iso(clock.now())
    subject = f"diary-cards/{card['_id']}"
    return _event(coaching.RISK_FLAGGED, card["client_id"], subject, data, clock)


def rupture_flagged(rupture: dict[str, Any], clock: Clock) -> Event:
    told = ("client_id", "site_id", "therapist_id", "checkin_id", "flagged_at")
    data = fields_of(rupture, *told, rupture_id="_id")
    subject = f"ruptures/{rupture['_id']}"
    return _event(coaching.RUPTURE_FLAGGED, rupture["client_id"], subject, data, clock)


def load_high(flag: dict[str, Any], clock: Clock) -> Event:
    told = ("clinician_id", "site_id", "week", "minutes", "threshold_minutes")
    data = fields_of(flag, *told) | {"flagged_at": iso(clock.now())}
    subject = f"clinicians/{flag['clinician_id']}/load"
    return _event(coaching.LOAD_HIGH, flag["clinician_id"], subject, data, clock)
