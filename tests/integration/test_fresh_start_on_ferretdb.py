"""A service's start on a fresh database (the only start this platform has: it was never
installed anywhere) makes its indexes and nothing else, on the test server (FerretDB locally): no
one-off pass over stored documents, no marker of one, no background thread that walks a
collection, and a second start does not either."""

from __future__ import annotations

import threading

import pytest

from coaching import repository as coaching_repository
from dbt_shared.storage.sequences import COUNTERS
from intake import repository as intake_repository
from notifications import repository as notifications_repository
from skills_group import repository as skills_group_repository

SERVICES = {
    "intake": intake_repository,
    "skills-group": skills_group_repository,
    "coaching": coaching_repository,
    "notifications": notifications_repository,
}


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_a_start_makes_indexes_and_walks_nothing(fresh_db, service):
    repository = SERVICES[service]
    threads_before = set(threading.enumerate())

    repository.ensure_indexes(fresh_db)
    repository.ensure_indexes(fresh_db)  # a second start (or a second process)

    started = {t.name for t in threading.enumerate()} - {t.name for t in threads_before}
    assert not [name for name in started if "backfill" in name or "stored" in name]
    # no marker of a one-off pass (the list counters hold only the lists' own numbers)
    assert list(fresh_db[COUNTERS].find({})) == []
    assert fresh_db["tallies"].count_documents({}) == 0
