"""A member moved to another group by hand (skills-group's enrollment event naming the
membership left): the reminders of the group they left are cancelled, the new group's come."""

from __future__ import annotations

from datetime import timedelta

from test_notifications_reach import (  # noqa: F401 (fixtures)
    CLIENT,
    GROUP,
    SITE,
    c,
    clock,
    enroll,
    handle,
    run_timers,
    session,
)

from dbt_shared.contracts import skills
from notifications import services
from notifications.services import reminders


def test_a_member_moved_gets_no_reminder_from_the_group_they_left(c, clock):  # noqa: F811
    starts = clock.now() + timedelta(hours=2, minutes=1)
    c.sessions.by_group[GROUP] = [session("sess-1", starts)]
    enroll(c, starts)
    services.dispatch_due(c)
    sent = len(c.sms.sent)  # the welcome
    c.sessions.by_group["grp-2"] = []
    handle(
        c,
        skills.ENROLLMENT_CREATED,
        {
            "enrollment_id": "enr-2",
            "client_id": CLIENT,
            "group_id": "grp-2",
            "site_id": SITE,
            "program_id": "prog-1",
            "first_session_id": "sess-9",
            "first_session_starts_at": (starts + timedelta(days=2)).isoformat(),
            "placed_by": "hand",
            "enrolled_at": clock.now().isoformat(),
            "transferred_from_enrollment_id": "enr-1",
        },
        reminders.on_enrollments,
    )
    services.dispatch_due(c)
    assert len(c.sms.sent) == sent + 1 and "Welcome" in c.sms.sent[-1].body  # the new group's
    clock.advance(timedelta(hours=1))
    run_timers(c)
    assert len(c.sms.sent) == sent + 1  # no reminder of the old group's session
