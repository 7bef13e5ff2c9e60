"""The platform's value sets, defined once: the contracts, the domains and the HTTP schemas of
every service import them from here. Plain tuples, no imports, so a domain may use them and stay
free of any framework.
"""

from __future__ import annotations

#: The kinds of DBT program a site runs.
PROGRAM_KINDS = ("adult", "adolescent")
#: Days of the week, as schedules and availability name them.
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: How a referral leaves the path before admission.
WITHDRAWAL_REASONS = (
    "client_declined",
    "not_reachable",
    "referred_elsewhere",
    "not_eligible",
    "moved_away",
    "other",
)
#: The channels a message can take.
CHANNELS = ("email", "sms", "inbox")
#: The roles a token can carry.
ROLES = ("operator", "coordinator", "therapist", "facilitator", "client", "service")
#: The roles a staff member holds at a site (the staff directory); operators are organisation-wide.
STAFF_SITE_ROLES = ("coordinator", "therapist", "facilitator")

# Role sets, named for what their holders do (a view's ``require_roles(*...)``; the site check
# of the use case adds the site). One meaning each, wherever a service or the console uses them.
#: Who coordinates a site: its referrals, closures, rosters and settings (operators everywhere).
COORDINATING = ("operator", "coordinator")
#: Who runs a site's skills groups: its coordinators and the groups' facilitators.
RUNNING_GROUPS = ("operator", "coordinator", "facilitator")
#: Anyone who works at a site (a client acts only on themselves, a service only where a route
#: names it).
SITE_STAFF = ("operator", "coordinator", "therapist", "facilitator")
