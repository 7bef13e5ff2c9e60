"""The overview's figures of every site at once on the test server (FerretDB locally): a day's
per-site tallies are read in one find by kind and day (index ``kind_day``), each site's the sum of
its writers' documents (on FerretDB one per process: two processes counting at once, from several
threads each, lose nothing)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from dbt_shared.storage import tallies
from dbt_shared.storage.context import Storage
from dbt_shared.storage.tallies import MongoTallies
from notifications import repository as notifications_repository

NOW = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)


class Process(MongoTallies):
    """The tallies as another process of the service writes them (its own storage and writer
    document)."""

    def __init__(self, db, name: str) -> None:
        super().__init__(Storage(db))
        self.name = name

    def _shard(self) -> str:
        return self.name


def test_two_processes_counting_at_once_are_summed_per_site_in_one_read_per_day(fresh_db):
    notifications_repository.ensure_indexes(fresh_db)
    assert "kind_day" in fresh_db[tallies.TALLIES].index_information()
    today = NOW.date()
    yesterday, long_ago = today - timedelta(days=1), today - timedelta(days=30)
    writers = [Process(fresh_db, "host-a:1"), Process(fresh_db, "host-b:2")]
    figures = [notifications_repository.SiteFigures(w) for w in writers]

    def count(figures_of_one_process) -> None:
        for n in range(25):
            site = ("site-1", "site-2")[n % 2]
            figures_of_one_process.count_failed(site, NOW - timedelta(days=n % 3 // 2))

    threads = [threading.Thread(target=count, args=(f,)) for f in figures for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    figures[0].count_failed("site-1", datetime.combine(long_ago, NOW.time(), UTC))  # outside
    for writer in writers:
        writer.pending.flush()

    by_site = figures[0].failed_in_days_by_site(today, 7)

    # per process and thread: 25 failures, 13 at site-1 and 12 at site-2; 6 counting threads
    assert by_site == {"site-1": 6 * 13, "site-2": 6 * 12}
    # the same as each site's own figure (its day keys read one by one, every writer's)
    assert by_site["site-1"] == figures[0].failed_in_days("site-1", today, 7)
    assert tallies.by_site(writers[1], {"kind": "failed", "day": yesterday.isoformat()})
