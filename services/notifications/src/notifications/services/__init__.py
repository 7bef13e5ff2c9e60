"""Notifications' use cases: the only code that loads, decides and saves. Event handlers
(``handlers``), the timers (``timers``) and the api views (``api``) call these with the
``Components`` of ``bootstrap``.

- ``intake_alerts``: new referrals and high-risk screenings (site inbox, email);
- ``alerts``: coaching's and skills-group's events (people's own inboxes, SMS, email);
- ``reminders``: the welcome, reminders that follow the calendar, session notices, the schedule;
- ``dispatch``: sending what is due on its channel, in its window (``targets``: to whom, on which
  channel, where);
- ``inbox``: a site's inbox and a person's own;
- ``people``: preferences, SMS opt-out, a site's settings, the delivery audit.
"""

from __future__ import annotations

from notifications.services.dispatch import dispatch_due, dispatch_urgent
from notifications.services.inbox import InboxPage, ListInbox, list_inbox, my_inbox
from notifications.services.intake_alerts import Batch, on_referrals_received, on_risks_flagged

__all__ = [
    "Batch",
    "InboxPage",
    "ListInbox",
    "dispatch_due",
    "dispatch_urgent",
    "list_inbox",
    "my_inbox",
    "on_referrals_received",
    "on_risks_flagged",
]
