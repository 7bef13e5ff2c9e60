"""Notifications' periodic jobs: sending what is due (``dispatch.dispatch_due``; the urgent
deliveries by a sender of their own, ``dispatch.dispatch_urgent``), moving the
scheduled deliveries whose minute has come into the send queue (``reminders.promote_due``), and
planning the reminders of the next two days (``reminders.plan_all``, hourly), and the
facilitators' digest at 17:00 site time (``digest.send_digests``), the hourly recount of the
unread tallies of the sites whose inbox changed since the recount before
(``InboxItems.recount_unread``), and every 15 s the wait of the
oldest safety alert not sent yet, for its alert (``safety_wait.report_safety_wait``)."""

from __future__ import annotations

from dbt_shared.worker import Timer, WorkerContext
from notifications import services
from notifications.bootstrap import Components
from notifications.domain.deliveries import LEASE
from notifications.services import digest, reminders, safety_wait

# Twice a second while there is work. A pass that finds nothing due doubles the wait, up to
# 2 s: at rest the timer reads the (empty) pending queue once every 2 s.
DELIVERIES_INTERVAL_S = 0.5
DELIVERIES_IDLE_MAX_S = 2.0
# An urgent delivery due at once (a risk alert, a crisis page) waits for neither: storing it
# wakes the urgent lane's sender (``Deliveries.wake``), a thread of its own that sends only
# those, so a page never waits behind a routine send or the batch write of a busy run's
# outcomes (under 100 referrals/s that write took up to 180 ms). It reads nothing itself (the
# deliveries are handed over in memory), so its pass every minute at rest costs nothing.
URGENT_INTERVAL_S = 60.0
# The schedule is read by the minute: every 20 s, a reminder joins the queue within 20 s of
# its due time (one equality query on the current minute's slot).
SCHEDULE_INTERVAL_S = 20.0
PLAN_INTERVAL_S = 3600.0
DIGEST_INTERVAL_S = 600.0  # the facilitators' digest leaves within 10 minutes of 17:00
# How long the oldest safety alert not sent yet has waited, for its alert (a few urgent entries
# read by equality on their rank: nothing while none waits).
SAFETY_WAIT_INTERVAL_S = 15.0
UNREAD_RECOUNT_INTERVAL_S = 3600.0  # a tally a killed process left off is exact within the hour


def timers(components: Components) -> list[Timer]:
    # This process sends: what it makes due at once goes to its sender without a claim.
    components.repositories.deliveries.send_here(LEASE)

    def send_due(ctx: WorkerContext) -> bool:
        return services.dispatch_due(components, stop=ctx.stop) > 0

    def send_urgent(ctx: WorkerContext) -> None:
        services.dispatch_urgent(components, stop=ctx.stop)

    def promote(_ctx: WorkerContext) -> None:
        reminders.promote_due(components)

    def safety_alerts_wait(_ctx: WorkerContext) -> None:
        safety_wait.report_safety_wait(components)

    def plan(_ctx: WorkerContext) -> None:
        reminders.plan_all(components)

    def digests(_ctx: WorkerContext) -> None:
        digest.send_digests(components)

    def recount_unread(_ctx: WorkerContext) -> None:
        # the sites with an item stored or read since the last run (none at rest; a day's worth
        # at the first run after a start)
        components.repositories.inbox.recount_changed_sites()

    return [
        Timer("deliveries", DELIVERIES_INTERVAL_S, send_due, idle_max_s=DELIVERIES_IDLE_MAX_S),
        Timer(
            "deliveries-urgent",
            URGENT_INTERVAL_S,
            send_urgent,
            wake=components.repositories.deliveries.wake,
        ),
        Timer("schedule", SCHEDULE_INTERVAL_S, promote),
        Timer("safety-wait", SAFETY_WAIT_INTERVAL_S, safety_alerts_wait),
        Timer("reminder-plan", PLAN_INTERVAL_S, plan),
        Timer("facilitator-digest", DIGEST_INTERVAL_S, digests),
        Timer("inbox-unread-recount", UNREAD_RECOUNT_INTERVAL_S, recount_unread),
    ]
