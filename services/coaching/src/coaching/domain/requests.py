"""A coaching request in the clinic's words: the statuses it passes through, the two deadlines
it runs against and the 24-hour rule that holds it."""

from __future__ import annotations

from datetime import timedelta

# In hand: what a clinician still has to do something about (a held request was answered with
# the rule and the crisis route; it is listed with ``status=held_24_hour_rule``).
ACTIVE_STATUSES = ("open", "acknowledged", "called_back")
#: Waiting out the 24-hour rule.
HELD = "held_24_hour_rule"
#: The deadlines a request runs against: acknowledged by, called back by.
ACK, CALLBACK = "acknowledgement", "callback"
#: The 24-hour rule: for this long after self-harm, coaching calls wait.
HOLD = timedelta(hours=24)
#: What the client is told of a held request.
RULE_TEXT = (
    "Your program keeps the 24-hour rule: for 24 hours after self-harm, coaching calls wait "
    "so that help comes before harm, not after it. Your request is recorded and your "
    "therapist is told. If you are in danger now, use the emergency route."
)
