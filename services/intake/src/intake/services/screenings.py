"""Screenings at rest: their clinical content (scores, bands, flags, the risk level, PHQ-9 item
9) sealed like the answers they were scored from, bound to the referral and the screening; the
id, the time and the author stay in the clear. ``referrals`` seals on the way in and opens for
the staff's view; the worker seals, once, what an earlier version stored in the clear.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import Any

from pymongo.database import Database

from dbt_shared import listing
from dbt_shared.errors import StaleWrite
from intake.bootstrap import Components
from intake.domain import screening
from intake.domain.referral import Referral
from intake.repository import REFERRALS

log = logging.getLogger(__name__)


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
    """A stored screening as staff see it (no answers). One stored before its summary was
    sealed is shown as it is (sealed at the referral's next write)."""
    shown = {k: v for k, v in stored.items() if k not in ("answers", "summary")}
    if "summary" in stored:
        field = _summary_field(stored["id"])
        shown.update(c.cipher.decrypt_json(stored["summary"], record_id=referral_id, field=field))
    return shown


def seal_old_screenings(c: Components, referral: Referral) -> None:
    """Screenings stored in the clear by an earlier version are sealed at the next write."""
    screenings = referral.state.get("screenings") or []
    if any("summary" not in s for s in screenings):
        referral.state["screenings"] = [
            s if "summary" in s else seal_screening(c, referral.id, s) for s in screenings
        ]


# -- screenings stored in the clear by an earlier version -----------------------------------------
SEALED_AT_REST = "referrals:screenings-sealed"


def seal_stored(c: Components, db: Database) -> int | None:
    """Once per database (a marker in ``list_counters``; one process does it): seal every
    screening an earlier version stored in the clear, referral by referral, each through the
    guarded ``save`` (a referral written meanwhile was sealed by that write). One pass over
    the referrals, at the first start of this version; answers how many it visited."""

    def seal(document: dict[str, Any]) -> None:
        referral = Referral(document)
        if any("summary" not in s for s in referral.state.get("screenings") or []):
            seal_old_screenings(c, referral)
            # changed meanwhile (StaleWrite): that write sealed them (``referrals._save``)
            with contextlib.suppress(StaleWrite):
                c.repositories.referrals.save(referral.state)  # index: _id

    return listing.backfill(
        db[REFERRALS], listing.MongoSequences(db), lambda _d: {}, marker=SEALED_AT_REST, then=seal
    )


def seal_stored_in_background(c: Components, db: Database) -> None:
    """``seal_stored`` on a thread of its own, so that the worker starts at once."""
    if db[listing.COUNTERS].find_one({"_id": SEALED_AT_REST}) is not None:  # index: _id
        return

    def run() -> None:
        try:
            seal_stored(c, db)
        except Exception:  # the next start tries again (the claim's lease runs out)
            log.exception("sealing stored screenings failed")

    threading.Thread(target=run, name="seal stored screenings", daemon=True).start()
