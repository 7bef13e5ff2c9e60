"""The wait of the oldest safety alert not sent yet (SafetyAlertNotDelivered's gauge) on the
server the tests run against (FerretDB locally): read from the urgent entries of the pending
queue (index ``due``, equality on the rank), each checked pending on its delivery, so a sent
alert whose entry lingers a moment, and the routine backlog, are not counted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dbt_shared.contracts import CATALOG, intake
from dbt_shared.events.envelope import new_event
from dbt_shared.storage.context import Storage
from notifications import repository
from notifications.domain.notices import referral_notice, risk_alert

T0 = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


def _event(type_, data, clock_now):
    class At:
        def now(self):
            return clock_now

    return new_event(
        "intake",
        type_,
        key=data["referral_id"],
        subject=f"referrals/{data['referral_id']}",
        data=data,
        clock=At(),
        catalog=CATALOG,
    )


def _risk(referral_id: str, at: datetime) -> dict:
    data = {
        "referral_id": referral_id,
        "site_id": "site-1",
        "screening_id": f"scr-{referral_id}",
        "level": "high",
        "flagged_at": at.isoformat(),
    }
    _item, email = risk_alert(_event(intake.RISK_FLAGGED, data, at), {**data, "flagged_at": at}, at)
    return email


def _referral(referral_id: str, at: datetime) -> dict:
    data = {"referral_id": referral_id, "site_id": "site-1", "program": "adult"}
    data["received_at"] = at.isoformat()
    _item, email = referral_notice(_event(intake.REFERRAL_RECEIVED, data, at), data, at)
    return email


def test_the_oldest_unsent_safety_alert_is_found_among_the_urgent_entries_only(fresh_db):
    repository.ensure_indexes(fresh_db)
    storage = Storage(fresh_db)
    deliveries = repository.mongo(storage).deliveries
    assert deliveries.oldest_urgent_waiting() is None

    older, newer = _risk("ref-1", T0), _risk("ref-2", T0 + timedelta(minutes=3))
    backlog = [_referral(f"ref-b{n}", T0 - timedelta(hours=1)) for n in range(20)]
    deliveries.add_many([*backlog, older, newer])
    assert deliveries.oldest_urgent_waiting() == T0  # not the older routine mail

    stored = deliveries.get(older["_id"])
    deliveries.save({**stored, "status": "sent", "sent_at": T0 + timedelta(minutes=1)})
    # the sent alert's queue entry may linger a moment: it is not waiting
    assert deliveries.oldest_urgent_waiting() == T0 + timedelta(minutes=3)
