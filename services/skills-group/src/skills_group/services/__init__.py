"""Skills Group's use cases, one function each: views, handlers and timers call them.

Groups and their calendars (``domain.calendar``), rolling admission (``domain.placement``),
attendance and the four-miss rule (``domain.attendance``). Every read or write of a client's
enrollment or attendance is audited; events carry ids and codes only.
"""

from __future__ import annotations

from skills_group.services.admission import (
    enroll_by_hand,
    graduate_due,
    list_enrollments,
    on_client_admitted,
    on_clinician_deactivated,
    on_clinician_registered,
    promote_waiting,
    waitlist,
)
from skills_group.services.attendance import (
    client_attendance,
    record_attendance,
    reinstate,
    roster,
)
from skills_group.services.calendars import (
    add_closure,
    cancel_session,
    change_group,
    create_group,
    get_group,
    list_groups,
    list_sessions,
    reschedule_session,
)
from skills_group.services.feeds import create_feed, feed_calendar, list_feeds, revoke_feed
from skills_group.services.overview import overview, publish_gauges

__all__ = [
    "add_closure",
    "cancel_session",
    "change_group",
    "client_attendance",
    "create_feed",
    "create_group",
    "enroll_by_hand",
    "feed_calendar",
    "get_group",
    "graduate_due",
    "list_enrollments",
    "list_feeds",
    "list_groups",
    "list_sessions",
    "on_client_admitted",
    "on_clinician_deactivated",
    "on_clinician_registered",
    "overview",
    "promote_waiting",
    "publish_gauges",
    "record_attendance",
    "reinstate",
    "reschedule_session",
    "revoke_feed",
    "roster",
    "waitlist",
]
