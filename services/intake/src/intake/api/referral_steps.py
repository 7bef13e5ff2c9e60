"""``/v1/referrals/{id}/...``: the pipeline's steps, one endpoint each."""

from __future__ import annotations

from flask.views import MethodView

from dbt_shared.auth import current_principal, require_roles
from dbt_shared.idempotency import resource_id
from dbt_shared.vocabulary import COORDINATING
from dbt_shared.web import Blueprint, components
from intake.api.common import IDEMPOTENCY_DOC, idempotent
from intake.schemas import (
    AdmissionIn,
    CommitmentIn,
    EligibilityIn,
    Referral,
    ScreeningIn,
    ScreeningResult,
    TherapistIn,
    WithdrawalIn,
)
from intake.services import referrals

blp = Blueprint(
    "referral_steps", __name__, url_prefix="/v1/referrals", description="Pipeline steps"
)


def _screening_replayed(_screening_id: str, referral_id: str) -> None:
    """A replayed answer shows a screening's result (scores, risk level, PHQ-9 item 9) again:
    audited before it goes, and only to a caller who may still see the referral."""
    referrals.screening_replayed(referral_id, components(), current_principal())


@blp.route("/<referral_id>/screenings")
class Screenings(MethodView):
    @require_roles(*COORDINATING)
    @blp.arguments(
        ScreeningIn,
        example={
            "cssrs": [False, False, False, False, False, False],
            "phq9": [1, 1, 2, 1, 0, 1, 1, 0, 0],
            "gad7": [1, 1, 1, 0, 1, 0, 1],
            "ders16_total": 48,
            "bsl23_mean": 1.2,
        },
    )
    @blp.doc(**IDEMPOTENCY_DOC)
    @idempotent(on_replay=_screening_replayed)
    @blp.response(201, ScreeningResult)
    def post(self, body, referral_id):
        """Record screening answers; the service scores them and flags risk.

        A high risk level alerts the site's clinical lead at once, whatever the hour, and the
        response carries the safety resources to give the client now.
        """
        principal = current_principal()
        result = referrals.record_screening(
            referral_id, body, components(), principal, resource_id()
        )
        return result, 201


@blp.route("/<referral_id>/eligibility")
class EligibilityDecision(MethodView):
    @require_roles(*COORDINATING)
    @blp.arguments(
        EligibilityIn, example={"decision": "eligible", "reason": "Meets criteria; BPD features."}
    )
    @blp.response(200, Referral)
    def post(self, body, referral_id):
        """The coordinator's eligibility decision, with its reason."""
        return referrals.decide_eligibility(referral_id, body, components(), current_principal())


@blp.route("/<referral_id>/orientation")
class Orientation(MethodView):
    @require_roles(*COORDINATING)
    @blp.response(200, Referral)
    def post(self, referral_id):
        """Start orientation and commitment sessions (the referral must be eligible)."""
        return referrals.start_orientation(referral_id, components(), current_principal())


@blp.route("/<referral_id>/commitment")
class CommitmentRecord(MethodView):
    @require_roles(*COORDINATING, "therapist")
    @blp.arguments(
        CommitmentIn,
        example={
            "orientation_sessions": 2,
            "all_modes": True,
            "four_miss_rule": True,
            "consent_to_treatment": True,
        },
    )
    @blp.response(200, Referral)
    def post(self, body, referral_id):
        """Record orientation held and the client's commitments; all are needed to commit."""
        return referrals.record_commitment(referral_id, body, components(), current_principal())


@blp.route("/<referral_id>/therapist")
class TherapistMatch(MethodView):
    @require_roles(*COORDINATING)
    @blp.arguments(TherapistIn, example={"language": "es", "preferred_clinician_id": None})
    @blp.response(200, Referral)
    def post(self, body, referral_id):
        """Assign a therapist: matched (site, program, language, free caseload, least loaded
        first, the client's preference honoured where possible), or by hand with
        ``clinician_id``. The response explains the choice in ``therapist.reasons``."""
        return referrals.assign_therapist(referral_id, body, components(), current_principal())


@blp.route("/<referral_id>/admission")
class AdmissionRecord(MethodView):
    @require_roles(*COORDINATING)
    @blp.arguments(
        AdmissionIn,
        example={"availability": [{"weekday": "tue", "start": "17:00", "end": "21:00"}]},
    )
    @blp.response(200, Referral)
    def post(self, body, referral_id):
        """Admit the client: needs eligible, committed and a therapist. Captures when the
        client can attend, for placement into a skills group at the next module start."""
        return referrals.admit(referral_id, body, components(), current_principal())


@blp.route("/<referral_id>/withdrawal")
class WithdrawalRecord(MethodView):
    @require_roles(*COORDINATING)
    @blp.arguments(WithdrawalIn, example={"reason": "client_declined", "note": None})
    @blp.response(200, Referral)
    def post(self, body, referral_id):
        """Withdraw a referral before admission, with a reason code and an optional note."""
        return referrals.withdraw(referral_id, body, components(), current_principal())
