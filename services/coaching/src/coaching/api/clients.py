"""A client's coaching data: diary cards and their weekly summary, self-harm records,
alliance check-ins and ruptures, shared goals; a clinician's load (the audit trail is
``dbt_shared.audit``'s)."""

from __future__ import annotations

from flask.views import MethodView

from coaching import services
from coaching.schemas import (
    Alliance,
    Checkin,
    CheckinIn,
    DiaryCard,
    DiaryCardIn,
    DiarySummary,
    Goal,
    GoalIn,
    GoalPage,
    GoalPatch,
    Load,
    LoadArgs,
    RepairIn,
    Rupture,
    SelfHarm,
    SelfHarmIn,
    WeekArgs,
)
from dbt_shared.auth import current_principal, require_roles
from dbt_shared.pagination import PageArgs
from dbt_shared.vocabulary import SITE_STAFF
from dbt_shared.web import Blueprint, components

blp = Blueprint("clients", __name__, url_prefix="/v1", description="Diary cards and alliance")


@blp.route("/diary-cards")
class DiaryCards(MethodView):
    @require_roles("client")
    @blp.arguments(DiaryCardIn)
    @blp.response(201, DiaryCard)
    @blp.alt_response(200, schema=DiaryCard, description="The day's card, replaced")
    def post(self, body):
        """The day's diary card (the client); a second card of the same day replaces it."""
        card, created = services.diary.submit(body, components(), current_principal())
        return card, 201 if created else 200


@blp.route("/clients/<client_id>/diary-summary")
class DiarySummaryView(MethodView):
    @require_roles("client", "therapist")
    @blp.arguments(WeekArgs, location="query")
    @blp.response(200, DiarySummary)
    def get(self, args, client_id):
        """A week of diary cards: days filled, averages, urges acted on, skills by module,
        distress trend (the client and their therapist)."""
        return services.diary.summary(client_id, args, components(), current_principal())


@blp.route("/clients/<client_id>/self-harm-records")
class SelfHarmRecords(MethodView):
    @require_roles(*SITE_STAFF)
    @blp.arguments(SelfHarmIn)
    @blp.response(201, SelfHarm)
    def post(self, body, client_id):
        """A clinician records self-harm: where the program keeps the 24-hour rule, non-crisis
        requests are held for 24 hours from ``occurred_at``."""
        return (
            services.safety.record_self_harm(client_id, body, components(), current_principal()),
            201,
        )


@blp.route("/alliance-checkins")
class AllianceCheckins(MethodView):
    @require_roles("client")
    @blp.arguments(CheckinIn, example={"session_kind": "individual", "ratings": [9, 9, 8, 9]})
    @blp.response(201, Checkin)
    def post(self, body):
        """After a session, four ratings 0-10; a low total or a drop from the client's own
        baseline flags a rupture for the therapist."""
        return services.relationship.check_in(body, components(), current_principal()), 201


@blp.route("/ruptures/<rupture_id>/repair")
class RuptureRepair(MethodView):
    @require_roles(*SITE_STAFF)
    @blp.arguments(RepairIn)
    @blp.response(200, Rupture)
    def post(self, body, rupture_id):
        """The rupture was discussed (the therapist)."""
        return services.relationship.repair(rupture_id, body, components(), current_principal())


@blp.route("/clients/<client_id>/alliance")
class AllianceView(MethodView):
    @require_roles("client", *SITE_STAFF)
    @blp.response(200, Alliance)
    def get(self, client_id):
        """The check-in series, open ruptures and repaired ruptures."""
        return services.relationship.alliance(client_id, components(), current_principal())


@blp.route("/clients/<client_id>/goals")
class Goals(MethodView):
    @require_roles("client", *SITE_STAFF)
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, GoalPage)
    def get(self, args, client_id):
        """The shared goals, with who changed what, oldest first; a page of ``limit``,
        ``next_cursor`` continues it."""
        items, cursor = services.relationship.goals(
            client_id, args, components(), current_principal()
        )
        return {"items": items, "next_cursor": cursor}

    @require_roles("client", "therapist")
    @blp.arguments(GoalIn)
    @blp.response(201, Goal)
    def post(self, body, client_id):
        """A shared goal (the client or their therapist)."""
        return (
            services.relationship.add_goal(client_id, body, components(), current_principal()),
            201,
        )


@blp.route("/clients/<client_id>/goals/<goal_id>")
class GoalView(MethodView):
    @require_roles("client", "therapist")
    @blp.arguments(GoalPatch)
    @blp.response(200, Goal)
    def patch(self, body, client_id, goal_id):
        """Progress, status or a note (the client or their therapist)."""
        return services.relationship.change_goal(
            client_id, goal_id, body, components(), current_principal()
        )


@blp.route("/clinicians/<clinician_id>/load")
class ClinicianLoad(MethodView):
    @require_roles(*SITE_STAFF)
    @blp.arguments(LoadArgs, location="query")
    @blp.response(200, Load)
    def get(self, args, clinician_id):
        """Coaching contacts and minutes outside business hours per week (the clinician; the
        site's coordinators)."""
        return services.relationship.load(clinician_id, args, components(), current_principal())
