"""The organisation overview's new query shapes on the test server (FerretDB locally): a
delivery failed for good (and a missed coaching acknowledgement) is kept once and read back by
site and day (index ``site_day``), the
sites are read from the site directory, and intake's waitlist figures (tallies by site and kind,
the longest wait kept in them by moment of receipt) come out per program."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from coaching import repository as coaching_repository
from dbt_shared import site_directory
from dbt_shared.auth import Principal
from dbt_shared.clock import FixedClock
from dbt_shared.storage import listing
from dbt_shared.storage.context import Storage
from intake import repository as intake_repository
from intake.services import figures as intake_figures
from notifications import repository as notifications_repository

NOW = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)
SITE = "site-1"
OPERATOR = Principal("op", frozenset({"operator"}), frozenset())


def test_a_failed_delivery_is_kept_once_and_read_by_site_and_day(fresh_db):
    notifications_repository.ensure_indexes(fresh_db)
    failed = fresh_db[notifications_repository.FAILED]
    assert "site_day" in failed.index_information()
    fresh_db[site_directory.COLLECTION].insert_many(
        [{"_id": "site-2", "timezone": "UTC"}, {"_id": SITE, "timezone": "UTC"}]
    )
    storage = Storage(fresh_db)
    repositories = notifications_repository.mongo(storage, FixedClock(NOW))
    delivery = {
        "_id": "d-1",
        "site_id": SITE,
        "purpose": "session_reminder",
        "channel": "sms",
        "recipient_kind": "client",
        "recipient_id": "c-1",
        "attempts_log": [{"at": NOW}, {"at": NOW}],
    }
    try:
        for _ in range(2):  # the outcome recorded twice (a repeated write): one record
            repositories.figures.count_failed(SITE, NOW, delivery)
        repositories.figures.count_failed(
            "site-2", NOW, {**delivery, "_id": "d-2", "site_id": "site-2"}
        )
        storage.pending.flush()

        [record] = repositories.figures.failed_on(SITE, NOW.date())
        assert (record["_id"], record["purpose"], record["attempts"]) == (
            "d-1",
            "session_reminder",
            2,
        )
        assert repositories.figures.failed_on(SITE, NOW.date() - timedelta(days=1)) == []
        assert repositories.site_zones.site_ids() == [SITE, "site-2"]
    finally:
        storage.deferred.sweep()


def _referral(n: int, program: str, received_at: datetime, status: str = "received") -> dict:
    return {
        "_id": f"ref-{n}",
        "site_id": SITE,
        "program": program,
        "status": status,
        "source": "GP",
        "received_at": received_at,
    }


def test_the_waitlist_figures_per_program_from_tallies_and_the_walk(fresh_db):
    intake_repository.ensure_indexes(fresh_db)
    storage = Storage(fresh_db)
    repositories = intake_repository.mongo(storage, FixedClock(NOW))
    fresh_db[intake_repository.SITES].insert_one({"_id": SITE, "name": "North"})
    states = [
        _referral(1, "adult", NOW - timedelta(days=30), status="admitted"),  # left the list
        _referral(2, "adult", NOW - timedelta(days=12)),
        _referral(3, "adolescent", NOW - timedelta(days=5), status="screening"),
        _referral(4, "adult", NOW - timedelta(days=2)),
    ]
    try:
        for state in states:
            listing.place(state, repositories.sequences, intake_repository.lanes_of(state))
            repositories.put_row(state, new=True)
        storage.pending.flush()
        c = SimpleNamespace(repositories=repositories, clock=FixedClock(NOW))

        [site] = intake_figures.waitlist_figures(c, OPERATOR)["items"]

        programs = {p["program"]: p for p in site["programs"]}
        assert (programs["adult"]["waiting"], programs["adult"]["oldest_waiting_days"]) == (2, 12)
        assert (
            programs["adolescent"]["waiting"],
            programs["adolescent"]["oldest_waiting_days"],
        ) == (1, 5)
        assert (site["waiting"], site["oldest_waiting_days"]) == (3, 12)
    finally:
        storage.deferred.sweep()


def test_a_missed_acknowledgement_is_kept_once_and_read_by_site_and_day(fresh_db):
    coaching_repository.ensure_indexes(fresh_db)
    assert "site_day" in fresh_db[coaching_repository.MISSED_ACKS].index_information()
    storage = Storage(fresh_db)
    repositories = coaching_repository.mongo(storage, FixedClock(NOW))
    request = {"_id": "req-1", "site_id": SITE, "kind": "crisis", "client_id": "c-1"}
    try:
        for _ in range(2):  # escalated twice in a race: one record
            repositories.count_missed_ack(SITE, NOW, request)
        storage.pending.flush()

        [record] = repositories.missed_acks_on(SITE, NOW.date())
        assert (record["_id"], record["kind"], record["client_id"]) == ("req-1", "crisis", "c-1")
        assert repositories.missed_acks_on(SITE, NOW.date() + timedelta(days=1)) == []
    finally:
        storage.deferred.sweep()
