"""Screenings at rest: their clinical content (scores, bands, flags, the risk level, PHQ-9 item
9) sealed like the answers they were scored from, bound to the referral and the screening; the
id, the time and the author stay in the clear. ``referrals`` seals on the way in and opens for
the staff's view.
"""

from __future__ import annotations

from typing import Any

from intake.bootstrap import Components
from intake.domain import screening


def _summary_field(screening_id: str) -> str:
    return f"screenings.{screening_id}.summary"


def seal_screening(c: Components, referral_id: str, summary: dict[str, Any]) -> dict[str, Any]:
    """A screening as stored: id, time and author in the clear, the scores, bands, flags and
    risk level (PHQ-9 item 9 among them) sealed, bound to this referral and screening."""
    plain, clinical = screening.split_summary(summary)
    sealed = c.cipher.encrypt_json(
        clinical, record_id=referral_id, field=_summary_field(summary["id"])
    )
    return {**plain, "summary": sealed, "answers": summary["answers"]}


def open_screening(c: Components, referral_id: str, stored: dict[str, Any]) -> dict[str, Any]:
    """A stored screening as staff see it (no answers)."""
    shown = {k: v for k, v in stored.items() if k not in ("answers", "summary")}
    field = _summary_field(stored["id"])
    shown.update(c.cipher.decrypt_json(stored["summary"], record_id=referral_id, field=field))
    return shown
