"""The longest wait as a kept figure (``intake.domain.waitlist``): a waitlist tally counts its
referrals per moment of receipt, and the oldest wait is the earliest moment still counted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from intake.domain import waitlist
from intake.repository import tally_changes, waiting_tally

AT = datetime(2026, 3, 3, 9, 30, 15, 123456, tzinfo=UTC)


def row(n: int, status: str, received_at: datetime | None = AT) -> dict:
    return {
        "_id": f"ref-{n}",
        "site_id": "site-1",
        "program": "adult",
        "status": status,
        "received_at": received_at,
        "waiting": status in ("received", "screening", "eligible", "committed"),
        "on_caseload": False,
    }


def test_a_moment_names_one_field_whether_written_or_read_back():
    stored = AT.replace(microsecond=123000, tzinfo=None)  # a BSON date: ms, naive UTC
    in_berlin = AT.astimezone(datetime.now().astimezone().tzinfo)

    names = {
        waitlist.received_field(AT),
        waitlist.received_field(stored),
        waitlist.received_field(in_berlin),
        waitlist.received_field(AT.isoformat()),
    }

    assert len(names) == 1
    assert waitlist.received_at_of(names.pop()) == AT.replace(microsecond=123000)


def test_the_oldest_is_the_earliest_moment_still_counted():
    older, newer = AT - timedelta(days=12), AT - timedelta(days=2)
    tally = {
        "received": 3,  # a stage's count, not a moment
        "screening": 1,
        waitlist.received_field(AT - timedelta(days=40)): 0,  # left the waitlist
        waitlist.received_field(AT - timedelta(days=30)): -1,  # a decrement stored first
        waitlist.received_field(older): 1,
        waitlist.received_field(newer): 2,
        "site_id": "site-1",
    }

    assert waitlist.oldest_received(tally) == older.replace(microsecond=123000)
    assert waitlist.oldest_received({"received": 0, "site_id": "site-1"}) is None


def test_a_stage_change_moves_the_stage_count_and_leaving_takes_the_moment_away():
    key = waiting_tally("site-1", "adult")
    moment = waitlist.received_field(AT)

    [(k1, arrived, tags)] = tally_changes(None, row(1, "received"))
    [(k2, moved, _)] = tally_changes(row(1, "received"), row(1, "screening"))
    [(k3, left, _)] = tally_changes(row(1, "screening"), row(1, "admitted"))

    assert k1 == k2 == k3 == key and tags["kind"] == "waitlist"
    assert arrived == {"received": 1, moment: 1}
    assert moved == {"received": -1, "screening": 1}  # still waiting: its moment stays
    assert left == {"screening": -1, moment: -1}
    assert tally_changes(None, row(2, "received", received_at=None)) == [
        (key, {"received": 1}, tags)
    ]
