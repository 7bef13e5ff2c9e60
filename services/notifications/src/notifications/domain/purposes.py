"""Why a notification exists and how urgent it is: the codes deliveries and their events carry."""

from __future__ import annotations


class Purpose:
    """Why a notification exists; the code carried by deliveries and their events."""

    REFERRAL_RECEIVED = "referral_received"
    RISK_FLAGGED = "risk_flagged"


# Safety messages to clinicians: no quiet hour, rate limit or program rule may hold them back.
SAFETY_PURPOSES = frozenset({Purpose.RISK_FLAGGED})


class Priority:
    URGENT = "urgent"
    NORMAL = "normal"


# Stored next to ``priority`` so that MongoDB can sort on it: lower comes first.
PRIORITY_RANKS = {Priority.URGENT: 0, Priority.NORMAL: 1}


def priority_rank(priority: str) -> int:
    return PRIORITY_RANKS[priority]
