"""The statuses of skills-group's records, in the clinic's words: the repository, the use cases
and the schemas import them from here."""

from __future__ import annotations

# A membership (an enrollment): active while the client holds a seat, then how it ended.
ACTIVE = "active"
DISCHARGED = "discharged"  # the consecutive-miss rule
GRADUATED = "graduated"  # the last session of the client's cycle passed
REMOVED = "removed"  # taken off the roster by hand
TRANSFERRED = "transferred"  # moved to another group by hand
MEMBERSHIP_STATUSES = (ACTIVE, DISCHARGED, GRADUATED, REMOVED, TRANSFERRED)

# An admitted client, until placed: placement not decided yet, waiting for a seat, enrolled.
PLACING = "placing"
WAITING = "waiting"
ENROLLED = "enrolled"
CLIENT_STATUSES = (PLACING, WAITING, ENROLLED)
