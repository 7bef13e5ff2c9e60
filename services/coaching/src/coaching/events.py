"""The events coaching records (contracts in ``dbt_shared.contracts.coaching``: ids and codes,
never diary content, ratings or notes) and the intake and skills-group events it consumes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dbt_shared.clock import Clock
from dbt_shared.contracts import coaching, intake, skills
from dbt_shared.events.catalog import Catalog
from dbt_shared.events.envelope import Event, new_event

SERVICE = "coaching"
# The event types it publishes and consumes (their topics are created when the worker starts).
CATALOG = Catalog.of(intake, skills, coaching)


def _event(type_: str, key: str, subject: str, data: dict[str, Any], clock: Clock) -> Event:
    return new_event(
        SERVICE, type_, key=key, subject=subject, data=data, clock=clock, catalog=CATALOG
    )


def _at(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def request_created(r: dict[str, Any], clock: Clock) -> Event:
    return _event(
        coaching.REQUEST_CREATED,
        r["client_id"],
        f"coaching-requests/{r['_id']}",
        {
            "request_id": r["_id"],
            "client_id": r["client_id"],
            "site_id": r["site_id"],
            "kind": r["kind"],
            "status": r["status"],
            "crisis": r["crisis"],
            "routed_to": r["routed_to"],
            "notified": list(r["notified"]),
            "notify_clinical_lead": r["notify_clinical_lead"],
            "notify_site_intake": r["notify_site_intake"],
            "acknowledge_by": _at(r["acknowledge_by"]),
            "call_back_by": _at(r["call_back_by"]),
            "created_at": _at(r["created_at"]),
            "unverified": list(r.get("unverified", [])),
        },
        clock,
    )


def request_released(r: dict[str, Any], clock: Clock) -> Event:
    return _event(
        coaching.REQUEST_RELEASED,
        r["client_id"],
        f"coaching-requests/{r['_id']}",
        {
            "request_id": r["_id"],
            "client_id": r["client_id"],
            "site_id": r["site_id"],
            "kind": r["kind"],
            "routed_to": r["routed_to"],
            "notified": list(r["notified"]),
            "notify_clinical_lead": r["notify_clinical_lead"],
            "acknowledge_by": _at(r["acknowledge_by"]),
            "call_back_by": _at(r["call_back_by"]),
            "released_at": _at(r["released_at"]),
        },
        clock,
    )


def request_step(type_: str, r: dict[str, Any], by: str, clock: Clock) -> Event:
    return _event(
        type_,
        r["client_id"],
        f"coaching-requests/{r['_id']}",
        {
            "request_id": r["_id"],
            "client_id": r["client_id"],
            "site_id": r["site_id"],
            "by": by,
            "at": _at(clock.now()),
        },
        clock,
    )


def request_escalated(r: dict[str, Any], deadline: str, level: int, to, clock: Clock) -> Event:
    return _event(
        coaching.REQUEST_ESCALATED,
        r["client_id"],
        f"coaching-requests/{r['_id']}",
        {
            "request_id": r["_id"],
            "client_id": r["client_id"],
            "site_id": r["site_id"],
            "deadline": deadline,
            "level": level,
            "to": to,
            "notify_clinical_lead": to is None,
            "escalated_at": _at(clock.now()),
        },
        clock,
    )


def coverage_gap(gap: dict[str, Any], clock: Clock) -> Event:
    return _event(
        coaching.COVERAGE_GAP,
        gap["site_id"],
        f"sites/{gap['site_id']}/coverage",
        {
            "gap_id": gap["_id"],
            "site_id": gap["site_id"],
            "missing": gap["missing"],
            "starts_at": _at(gap["starts_at"]),
            "ends_at": _at(gap["ends_at"]),
            "detected_at": _at(clock.now()),
        },
        clock,
    )


def diary_card_submitted(card: dict[str, Any], clock: Clock) -> Event:
    return _event(
        coaching.DIARY_CARD_SUBMITTED,
        card["client_id"],
        f"diary-cards/{card['_id']}",
        {
            "card_id": card["_id"],
            "client_id": card["client_id"],
            "site_id": card["site_id"],
            "date": card["date"],
            "submitted_at": _at(clock.now()),
        },
        clock,
    )


def risk_flagged(card: dict[str, Any], therapist_id: str | None, clock: Clock) -> Event:
    return _event(
        coaching.RISK_FLAGGED,
        card["client_id"],
        f"diary-cards/{card['_id']}",
        {
            "client_id": card["client_id"],
            "site_id": card["site_id"],
            "therapist_id": therapist_id,
            "source": "diary_card",
            "source_id": card["_id"],
            "level": "high",
            "flagged_at": _at(clock.now()),
        },
        clock,
    )


def rupture_flagged(rupture: dict[str, Any], clock: Clock) -> Event:
    return _event(
        coaching.RUPTURE_FLAGGED,
        rupture["client_id"],
        f"ruptures/{rupture['_id']}",
        {
            "rupture_id": rupture["_id"],
            "client_id": rupture["client_id"],
            "site_id": rupture["site_id"],
            "therapist_id": rupture.get("therapist_id"),
            "checkin_id": rupture["checkin_id"],
            "flagged_at": _at(rupture["flagged_at"]),
        },
        clock,
    )


def load_high(flag: dict[str, Any], clock: Clock) -> Event:
    return _event(
        coaching.LOAD_HIGH,
        flag["clinician_id"],
        f"clinicians/{flag['clinician_id']}/load",
        {
            "clinician_id": flag["clinician_id"],
            "site_id": flag["site_id"],
            "week": flag["week"],
            "minutes": flag["minutes"],
            "threshold_minutes": flag["threshold_minutes"],
            "flagged_at": _at(clock.now()),
        },
        clock,
    )
