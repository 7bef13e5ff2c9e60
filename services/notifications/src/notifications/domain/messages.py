"""The text of each purpose's email. Texts stay generic: no client name, contact detail or
clinical content, ever; every text takes the subject reference (a referral id) only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from notifications.domain.purposes import Purpose

_REFERRAL_SUBJECT = "New referral received"
_REFERRAL_BODY = (
    "A new referral was received for your site.\n\n"
    "Reference: {referral_id}\n\n"
    "Open the intake inbox of the DBT platform to review it. "
    "No client details are sent by email.\n"
)

# Every crisis path shows the emergency route (domain handbook, "Phone coaching").
EMERGENCY_ROUTE = (
    "If the client is in immediate danger, call 988 (US Suicide & Crisis Lifeline) "
    "or the local emergency number."
)
_RISK_FLAGGED_SUBJECT = "URGENT: high-risk screening needs a clinician now"
_RISK_FLAGGED_BODY = (
    "A screening at your site showed high risk. A clinician needs to respond now.\n\n"
    "Reference: {referral_id}\n\n"
    "Open the DBT platform now to review the screening and reach the client.\n\n"
    f"{EMERGENCY_ROUTE}\n\n"
    "No client details are sent by email.\n"
)


@dataclass(frozen=True)
class EmailMessage:
    subject: str
    body: str


def referral_received_email(referral_id: str) -> EmailMessage:
    return EmailMessage(_REFERRAL_SUBJECT, _REFERRAL_BODY.format(referral_id=referral_id))


def risk_flagged_email(referral_id: str) -> EmailMessage:
    """The clinical lead's alert: the referral reference and the emergency route, nothing else."""
    return EmailMessage(_RISK_FLAGGED_SUBJECT, _RISK_FLAGGED_BODY.format(referral_id=referral_id))


# The text of each purpose's email; every text takes the subject reference only.
EMAIL_TEMPLATES: dict[str, Callable[[str], EmailMessage]] = {
    Purpose.REFERRAL_RECEIVED: referral_received_email,
    Purpose.RISK_FLAGGED: risk_flagged_email,
}
