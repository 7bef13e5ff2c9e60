"""The referral aggregate: one person's path from referral to admission, and what it causes.

A ``Referral`` wraps its stored state. Each step asks the pipeline's rules (``pipeline``), changes
the state, appends to the history, and collects the domain events it causes; the service layer
saves state and events together. Refusals are domain errors with structured fields (the current
status, the action, the reasons), mapped to problem responses once by the app defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dbt_shared.errors import Conflict, InvalidInput
from intake.domain import pipeline

#: The client's fields that make their display name (sealed in the referral and its list rows).
NAME_FIELDS = ("given_name", "family_name")


# -- the domain events a referral causes (ids and codes only, like the contracts) --------------
@dataclass(frozen=True)
class ReferralReceived:
    pass


@dataclass(frozen=True)
class ScreeningCompleted:
    screening_id: str


@dataclass(frozen=True)
class RiskFlagged:
    screening_id: str


@dataclass(frozen=True)
class TherapistAssigned:
    pass


@dataclass(frozen=True)
class ClientAdmitted:
    pass


@dataclass(frozen=True)
class ReferralWithdrawn:
    pass


DomainEvent = (
    ReferralReceived
    | ScreeningCompleted
    | RiskFlagged
    | TherapistAssigned
    | ClientAdmitted
    | ReferralWithdrawn
)


class StepRefused(Conflict):
    """The referral's status does not allow the step (409, with the status and the action)."""

    kind = "illegal-transition"


class AdmissionBlocked(Conflict):
    kind = "admission-blocked"


class NoTherapistAvailable(Conflict):
    kind = "no-therapist-available"


class Referral:
    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state
        self.events: list[DomainEvent] = []

    @classmethod
    def receive(
        cls,
        referral_id: str,
        *,
        site_id: str,
        program: str,
        source: str,
        sealed_client: dict[str, Any],
        by: str,
        now: datetime,
    ) -> Referral:
        referral = cls(
            {
                "_id": referral_id,
                "site_id": site_id,
                "program": program,
                "source": source,
                "consent_to_contact": True,
                "status": pipeline.RECEIVED,
                "received_at": now,
                "received_by": by,
                "client": sealed_client,
                "screenings": [],
                "history": [{"status": pipeline.RECEIVED, "at": now, "by": by}],
            }
        )
        referral.events.append(ReferralReceived())
        return referral

    # -- reading -------------------------------------------------------------------------------
    @property
    def id(self) -> str:
        return self.state["_id"]

    @property
    def site_id(self) -> str:
        return self.state["site_id"]

    @property
    def status(self) -> str:
        return self.state["status"]

    @property
    def program(self) -> str:
        return self.state["program"]

    @property
    def therapist_id(self) -> str | None:
        return (self.state.get("therapist") or {}).get("clinician_id")

    def allowed_actions(self) -> list[str]:
        # Recording the first screening starts screening: that action has no step of its own.
        return [a for a in pipeline.allowed_actions(self.status) if a != "start_screening"]

    # -- the steps -----------------------------------------------------------------------------
    def _advance(self, action: str, by: str, now: datetime, **facts: Any) -> None:
        try:
            new_status = pipeline.transition(self.status, action, **facts)
        except pipeline.IllegalTransition as exc:
            raise StepRefused(str(exc), current_status=self.status, action=action) from exc
        except pipeline.CommitmentIncomplete as exc:
            # The referral may commit; the body does not yet say what commitment needs.
            raise InvalidInput(
                [
                    (
                        name,
                        "Needed before admission: "
                        + pipeline.AGREEMENTS.get(name, "at least one orientation session held"),
                    )
                    for name in exc.missing
                ],
                detail="The commitment is incomplete: " + ", ".join(exc.missing) + ".",
                kind="commitment-incomplete",
            ) from exc
        except pipeline.AdmissionBlocked as exc:
            raise AdmissionBlocked(
                "The client cannot be admitted yet: " + "; ".join(exc.reasons) + ".",
                reasons=list(exc.reasons),
            ) from exc
        if new_status != self.status:
            self.state.setdefault("history", []).append({"status": new_status, "at": now, "by": by})
        self.state["status"] = new_status
        self.state["updated_at"] = now
        self._note_caseload()

    def _note_caseload(self) -> None:
        # Kept on the referral so a therapist's caseload is one indexed equality query
        # (therapist_id, on_caseload), whatever the history holds.
        self.state["therapist_id"] = self.therapist_id
        self.state["on_caseload"] = (
            self.therapist_id is not None and self.status in pipeline.CASELOAD_STATUSES
        )

    def record_screening(
        self, summary: dict[str, Any], *, needs_immediate_response: bool, by: str, now: datetime
    ) -> None:
        self._advance("record_screening", by, now)
        self.state.setdefault("screenings", []).append(summary)
        self.events.append(ScreeningCompleted(summary["id"]))
        if needs_immediate_response:
            self.events.append(RiskFlagged(summary["id"]))

    def decide_eligibility(self, eligibility: dict[str, Any], *, by: str, now: datetime) -> None:
        self._advance("decide_eligibility", by, now, decision=eligibility["decision"])
        self.state["eligibility"] = eligibility

    def start_orientation(self, *, by: str, now: datetime) -> None:
        self._advance("start_orientation", by, now)
        self.state["orientation_started_at"] = now

    def record_commitment(
        self, commitment: dict[str, Any], facts: dict[str, Any], *, by: str, now: datetime
    ) -> None:
        self._advance("record_commitment", by, now, **facts)
        self.state["commitment"] = commitment

    def assign_therapist(self, assignment: dict[str, Any], *, by: str, now: datetime) -> None:
        self._advance("assign_therapist", by, now)
        self.state["therapist"] = assignment
        self._note_caseload()
        self.events.append(TherapistAssigned())

    def admit(self, admission: dict[str, Any], *, by: str, now: datetime) -> None:
        self._advance(
            "admit",
            by,
            now,
            therapist_id=self.therapist_id,
            eligibility=(self.state.get("eligibility") or {}).get("decision"),
        )
        self.state["admission"] = admission
        self.events.append(ClientAdmitted())

    def withdraw(self, withdrawal: dict[str, Any], *, by: str, now: datetime) -> None:
        self._advance("withdraw", by, now)
        self.state["withdrawal"] = withdrawal
        self.events.append(ReferralWithdrawn())

    def correct_contact(self, sealed_changes: dict[str, Any], *, now: datetime) -> None:
        if self.status == pipeline.WITHDRAWN:
            raise Conflict("A withdrawn referral cannot be changed.")
        self.state["client"] = {**self.state["client"], **sealed_changes}
        self.state["updated_at"] = now
