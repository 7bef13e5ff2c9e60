"""The events notifications consumes, and the use case each one runs (``services``).

Every write is keyed on the event, so a redelivered event changes nothing. The site directory
(time zones, programs) is kept by ``dbt_shared.site_directory``'s own handlers; intake's
clinicians become a small read model (site, subject) for ``GET /v1/me/inbox``.
"""

from __future__ import annotations

from typing import Any

from dbt_shared import site_directory, staff_directory
from dbt_shared.contracts import coaching, intake, skills
from dbt_shared.events.consumer import Handler, HandlerContext, batched
from notifications import services
from notifications.bootstrap import Components
from notifications.services import alerts, reminders, skills_alerts

# Coaching's topic carries the crisis requests: the worker reads it with a consumer of its own
# (``dbt_shared.events.lanes``), so a page is handled while a poll of up to 500 of intake's
# referrals or skills-group's reminders is, not after it. Intake's risk flags share their
# partitions with the referrals: they are read in order, in the routine lane.
URGENT_TOPICS = (coaching.TOPIC.name,)
# Within a poll that holds several topics (the lane's own, or a worker run without lanes), the
# safety topic's records are handed over first.
FIRST_TOPICS = URGENT_TOPICS


def handlers(components: Components) -> dict[str, Handler]:
    """The worker's handlers, calling the use cases on ``components``."""

    def run(use_case):
        def handle(batch: services.Batch, _ctx: HandlerContext) -> None:
            use_case(batch, components)

        return batched(handle)

    def on_clinician(_event, data: dict[str, Any], _ctx: HandlerContext) -> None:
        if components.repositories.clinician(data["clinician_id"]) is None:
            components.repositories.clinicians.insert(
                {
                    "_id": data["clinician_id"],
                    "site_id": data["site_id"],
                    "subject": data["subject"],
                }
            )

    # A poll's run of one type comes as one batch: a few bulk writes, not a few writes each.
    return {
        **site_directory.HANDLERS,
        **staff_directory.HANDLERS,  # who works where: the site roles of requests
        intake.CLINICIAN_REGISTERED: on_clinician,
        intake.REFERRAL_RECEIVED: run(services.on_referrals_received),
        intake.RISK_FLAGGED: run(services.on_risks_flagged),
        coaching.REQUEST_CREATED: run(alerts.on_coaching_requests),
        coaching.REQUEST_RELEASED: run(alerts.on_coaching_releases),
        coaching.REQUEST_ESCALATED: run(alerts.on_coaching_escalations),
        coaching.RISK_FLAGGED: run(alerts.on_coaching_risks),
        coaching.COVERAGE_GAP: run(alerts.on_coverage_gaps),
        coaching.RUPTURE_FLAGGED: run(alerts.on_ruptures),
        skills.ENROLLMENT_CREATED: run(reminders.on_enrollments),
        skills.CLIENT_GRADUATED: run(reminders.on_members_left),
        skills.CLIENT_DISCHARGED: run(
            _both(skills_alerts.on_discharged, reminders.on_members_left)
        ),
        skills.ATTENDANCE_AT_RISK: run(skills_alerts.on_attendance_at_risk),
        skills.GROUP_SCHEDULED: run(reminders.on_groups_scheduled),
        skills.SESSION_SCHEDULED: run(reminders.on_sessions_scheduled),
        skills.SESSION_RESCHEDULED: run(reminders.on_sessions_moved),
        skills.SESSION_CANCELLED: run(reminders.on_sessions_cancelled),
    }


def _both(*use_cases):
    def run(batch, components):
        for use_case in use_cases:
            use_case(batch, components)

    return run
