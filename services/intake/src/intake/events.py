"""The events intake records (contracts in ``dbt_shared.contracts.intake``): ids and codes only."""

from __future__ import annotations

from typing import Any

from dbt_shared.clock import Clock
from dbt_shared.contracts import intake as contract
from dbt_shared.events.catalog import Catalog
from dbt_shared.events.envelope import Event, new_event
from intake.domain import referral as domain

SERVICE = "intake"
# The event types this service records (validated when recorded and when published).
CATALOG = Catalog.of(contract)


def _aggregate_event(
    type_: str, collection: str, aggregate_id: str, data: dict[str, Any], clock: Clock
) -> Event:
    """Keyed by the aggregate's id (its events stay in order), subject ``<collection>/<id>``."""
    return new_event(
        SERVICE,
        type_,
        key=aggregate_id,
        subject=f"{collection}/{aggregate_id}",
        data=data,
        clock=clock,
        catalog=CATALOG,
    )


def _referral_event(type_: str, referral: dict[str, Any], data: dict[str, Any], clock: Clock):
    return _aggregate_event(
        type_,
        "referrals",
        referral["_id"],
        {"referral_id": referral["_id"], "site_id": referral["site_id"], **data},
        clock,
    )


def site_registered(site: dict[str, Any], clock: Clock) -> Event:
    return _aggregate_event(
        contract.SITE_REGISTERED,
        "sites",
        site["_id"],
        {
            "site_id": site["_id"],
            "timezone": site["timezone"],
            "registered_at": site["created_at"].isoformat(),
        },
        clock,
    )


def site_updated(site: dict[str, Any], changed: list[str], clock: Clock) -> Event:
    return _aggregate_event(
        contract.SITE_UPDATED,
        "sites",
        site["_id"],
        {
            "site_id": site["_id"],
            "timezone": site["timezone"],
            "changed": changed,
            "updated_at": site["updated_at"].isoformat(),
        },
        clock,
    )


def program_configured(program: dict[str, Any], clock: Clock) -> Event:
    settings = {k: v for k, v in program["settings"].items() if k != "cycle_weeks"}
    return _aggregate_event(
        contract.PROGRAM_CONFIGURED,
        "programs",
        program["_id"],
        {
            "program_id": program["_id"],
            "site_id": program["site_id"],
            "kind": program["kind"],
            "settings": settings,
            "configured_at": clock.now().isoformat(),
        },
        clock,
    )


def clinician_registered(clinician: dict[str, Any], clock: Clock) -> Event:
    return _aggregate_event(
        contract.CLINICIAN_REGISTERED,
        "clinicians",
        clinician["_id"],
        {
            "clinician_id": clinician["_id"],
            "site_id": clinician["site_id"],
            "subject": clinician["subject"],
            "roles": clinician["roles"],
            "registered_at": clinician["created_at"].isoformat(),
        },
        clock,
    )


def clinician_deactivated(clinician: dict[str, Any], clock: Clock) -> Event:
    return _aggregate_event(
        contract.CLINICIAN_DEACTIVATED,
        "clinicians",
        clinician["_id"],
        {
            "clinician_id": clinician["_id"],
            "site_id": clinician["site_id"],
            "deactivated_at": clinician["deactivated_at"].isoformat(),
        },
        clock,
    )


def referral_received(referral: dict[str, Any], clock: Clock) -> Event:
    return _referral_event(
        contract.REFERRAL_RECEIVED,
        referral,
        {"program": referral["program"], "received_at": referral["received_at"].isoformat()},
        clock,
    )


def screening_completed(referral: dict[str, Any], screening_id: str, clock: Clock) -> Event:
    return _referral_event(
        contract.SCREENING_COMPLETED,
        referral,
        {"screening_id": screening_id, "completed_at": clock.now().isoformat()},
        clock,
    )


def risk_flagged(referral: dict[str, Any], screening_id: str, clock: Clock) -> Event:
    return _referral_event(
        contract.RISK_FLAGGED,
        referral,
        {"screening_id": screening_id, "level": "high", "flagged_at": clock.now().isoformat()},
        clock,
    )


def therapist_assigned(referral: dict[str, Any], assignment: dict[str, Any], clock: Clock):
    return _referral_event(
        contract.THERAPIST_ASSIGNED,
        referral,
        {
            "therapist_id": assignment["clinician_id"],
            "method": assignment["method"],
            "assigned_at": assignment["assigned_at"].isoformat(),
        },
        clock,
    )


def client_admitted(referral: dict[str, Any], admission: dict[str, Any], clock: Clock) -> Event:
    return _referral_event(
        contract.CLIENT_ADMITTED,
        referral,
        {
            "client_id": referral["_id"],
            "program_id": admission["program_id"],
            "program": referral["program"],
            "therapist_id": referral["therapist"]["clinician_id"],
            "availability": admission["availability"],
            "admitted_at": admission["admitted_at"].isoformat(),
        },
        clock,
    )


def referral_withdrawn(referral: dict[str, Any], withdrawal: dict[str, Any], clock: Clock):
    return _referral_event(
        contract.REFERRAL_WITHDRAWN,
        referral,
        {
            "reason": withdrawal["reason"],
            "from_status": withdrawal["from_status"],
            "withdrawn_at": withdrawal["withdrawn_at"].isoformat(),
        },
        clock,
    )


def staff_changed(member: dict[str, Any], clock: Clock) -> Event:
    """A staff member's whole state now, for every service's staff directory (no name)."""
    return _aggregate_event(
        contract.STAFF_CHANGED,
        "staff",
        member["_id"],
        {
            "subject": member["_id"],
            "active": member["active"],
            "memberships": member["memberships"],
            "version": member["version"],
            "changed_at": member["changed_at"].isoformat(),
        },
        clock,
    )


def for_referral(referral: dict[str, Any], event: domain.DomainEvent, clock: Clock) -> Event:
    """The integration event for a domain event of ``referral`` (its state after the step)."""
    match event:
        case domain.ReferralReceived():
            return referral_received(referral, clock)
        case domain.ScreeningCompleted(screening_id=screening_id):
            return screening_completed(referral, screening_id, clock)
        case domain.RiskFlagged(screening_id=screening_id):
            return risk_flagged(referral, screening_id, clock)
        case domain.TherapistAssigned():
            return therapist_assigned(referral, referral["therapist"], clock)
        case domain.ClientAdmitted():
            return client_admitted(referral, referral["admission"], clock)
        case domain.ReferralWithdrawn():
            return referral_withdrawn(referral, referral["withdrawal"], clock)
    raise TypeError(f"no integration event for {event!r}")
