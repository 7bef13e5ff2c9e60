"""The console's operations on the test server (FerretDB locally): the indexes they add are
made by ``ensure_indexes``, a site inbox's read marks keep its unread tally exact under
concurrent marks, and an audit record of several clients shows in each one's trail."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from dbt_shared import audit
from dbt_shared.auth import Principal
from dbt_shared.clock import FixedClock
from dbt_shared.storage.context import Storage
from dbt_shared.storage.tallies import TALLIES
from notifications import repository as notifications_repository

CLOCK = FixedClock(datetime(2026, 3, 3, 15, 0, tzinfo=UTC))
SITE = "site-1"


def test_the_indexes_are_made_and_a_several_object_record_is_in_each_trail(fresh_db):
    audit.ensure_indexes(fresh_db)
    assert "objects_trail" in fresh_db[audit.AUDIT_COLLECTION].index_information()
    log = audit.MongoAuditLog(Storage(fresh_db), CLOCK)
    operator = Principal("op", frozenset({"operator"}), frozenset())
    log.record(
        operator, action="referral.read", object_type="referral", object_id="a", site_id=SITE
    )
    log.record(
        operator,
        action="client.display_names",
        object_type="client_list",
        object_id=SITE,
        site_id=SITE,
        object_ids=["a", "b"],
    )

    for client_id, actions in (
        ("a", ["referral.read", "client.display_names"]),
        ("b", ["client.display_names"]),
    ):
        items, _ = log.page({"object_id": client_id}, limit=10, cursor=None)
        assert [r["action"] for r in items] == actions


def test_marks_made_at_once_keep_the_unread_tally_exact(fresh_db):
    notifications_repository.ensure_indexes(fresh_db)
    assert "site_unread" in fresh_db[notifications_repository.INBOX].index_information()
    storage = Storage(fresh_db)
    inbox = notifications_repository.mongo(storage, CLOCK).inbox
    items = [
        {"_id": f"item-{n}", "site_id": SITE, "priority_rank": 1, "kind": "referral_received"}
        for n in range(4)
    ]
    inbox.add_many(items)
    start = threading.Barrier(6)

    def mark(item_id: str) -> None:
        start.wait()
        inbox.mark_read(SITE, item_id, "someone", CLOCK.now())

    # six people: three mark item-0, three item-1, at the same moment
    threads = [threading.Thread(target=mark, args=(f"item-{n % 2}",)) for n in range(6)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        storage.pending.flush()
        assert inbox.unread(SITE) == 2
        assert inbox.recount_changed_sites() == {SITE}  # index: changed (equality)
        assert inbox.recount_unread(SITE) == 2
    finally:
        storage.deferred.sweep()


def test_a_mark_answered_is_in_the_count_every_process_reads(fresh_db):
    notifications_repository.ensure_indexes(fresh_db)
    storage = Storage(fresh_db)
    inbox = notifications_repository.mongo(storage, CLOCK).inbox
    inbox.add_many([{"_id": "item-0", "site_id": SITE, "priority_rank": 1, "kind": "risk_flagged"}])
    storage.pending.flush()
    key = notifications_repository.unread_tally(SITE)

    inbox.mark_read(SITE, "item-0", "someone", CLOCK.now())

    # What another process reads: the stored tally documents alone, not this one's pending.
    written = sum(doc.get("n", 0) for doc in fresh_db[TALLIES].find({"key": key}))
    assert written == 0
