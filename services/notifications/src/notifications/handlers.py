"""The events notifications consumes, and the use case each one runs (``services``).

Every write is keyed on the event, so a redelivered event changes nothing. The site directory
(time zones, programs) is kept by ``dbt_shared.site_directory``'s own handlers; intake's
clinicians become the read model every service keeps (``dbt_shared.read_models``), who a staff
caller is for ``GET /v1/me/inbox``.
"""

from __future__ import annotations

from dbt_shared import site_directory, staff_directory
from dbt_shared.contracts import coaching, intake, skills
from dbt_shared.events.handling import Handler, service_handlers
from notifications import services
from notifications.bootstrap import Components
from notifications.services import alerts, people, reminders, skills_alerts

# Coaching's topic carries the crisis requests: the worker reads it with a consumer of its own
# (``dbt_shared.events.lanes``), so a page is handled while a poll of up to 500 of intake's
# referrals or skills-group's reminders is, not after it. Intake's risk flags share their
# partitions with the referrals: they are read in order, in the routine lane.
URGENT_TOPICS = (coaching.TOPIC.name,)
# Within a poll that holds several topics (the lane's own, or a worker run without lanes), the
# safety topic's records are handed over first.
FIRST_TOPICS = URGENT_TOPICS


# Sites and programs (time zones, quiet hours); who works where (the site roles of requests).
READ_MODELS = (site_directory, staff_directory)
USE_CASES = {intake.CLINICIAN_REGISTERED: people.on_clinician_registered}
# A poll's run of one type comes as one batch: a few bulk writes, not a few writes each.
BATCH_USE_CASES = {
    intake.REFERRAL_RECEIVED: services.on_referrals_received,
    intake.RISK_FLAGGED: services.on_risks_flagged,
    coaching.REQUEST_CREATED: alerts.on_coaching_requests,
    coaching.REQUEST_RELEASED: alerts.on_coaching_releases,
    coaching.REQUEST_ESCALATED: alerts.on_coaching_escalations,
    coaching.RISK_FLAGGED: alerts.on_coaching_risks,
    coaching.COVERAGE_GAP: alerts.on_coverage_gaps,
    coaching.RUPTURE_FLAGGED: alerts.on_ruptures,
    skills.ENROLLMENT_CREATED: reminders.on_enrollments,
    skills.CLIENT_GRADUATED: reminders.on_members_left,
    skills.CLIENT_DISCHARGED: skills_alerts.on_clients_discharged,
    skills.ATTENDANCE_AT_RISK: skills_alerts.on_attendance_at_risk,
    skills.GROUP_SCHEDULED: reminders.on_groups_scheduled,
    skills.SESSION_SCHEDULED: reminders.on_sessions_scheduled,
    skills.SESSION_RESCHEDULED: reminders.on_sessions_moved,
    skills.SESSION_CANCELLED: reminders.on_sessions_cancelled,
}


def handlers(components: Components) -> dict[str, Handler]:
    """The worker's handlers, calling the use cases on ``components``."""
    return service_handlers(components, READ_MODELS, USE_CASES, BATCH_USE_CASES)
