"""Intake's waitlist figures on the test server (FerretDB locally) while several processes move
referrals at once: the counts per stage and the longest wait are kept by the writes (the
waitlist tallies, one document per writer), and stay right as referrals are received in one
process and move on, or leave the waitlist, in another; the hourly recount agrees."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from dbt_shared.auth import Principal
from dbt_shared.clock import FixedClock
from dbt_shared.storage import listing
from dbt_shared.storage.context import Storage
from dbt_shared.storage.tallies import TALLIES
from intake import repository as intake_repository
from intake.services import figures as intake_figures

NOW = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)
SITE = "site-1"
OPERATOR = Principal("op", frozenset({"operator"}), frozenset())
PROCESSES = 3
PER_PROCESS = 12
PROGRAMS = ("adult", "adolescent")


def _received_at(n: int) -> datetime:
    # referral n waited n days and n minutes: every moment distinct, the oldest the highest n
    return NOW - timedelta(days=n, minutes=n, milliseconds=n)


def _program(n: int) -> str:
    return PROGRAMS[n % 2]


#: The stages a referral goes through to where it ends.
PATHS = {
    "received": [],
    "screening": ["screening"],
    "eligible": ["screening", "eligible"],
    "not_eligible": ["screening", "not_eligible"],
    "orientation": ["screening", "eligible", "orientation"],
    "withdrawn": ["screening", "withdrawn"],
    "admitted": ["screening", "eligible", "orientation", "committed", "admitted"],
}


def _final_status(n: int) -> str:
    """Where referral n ends: the oldest of each program leave (admitted, withdrawn), a few
    more leave, the rest move on along the waiting stages or stay where they are."""
    last = PROCESSES * PER_PROCESS - 1
    if n in (last, last - 1):
        return "admitted" if n == last else "withdrawn"
    return ("screening", "eligible", "not_eligible", "orientation", "received")[n % 5]


def _receive(uri: str, db_name: str, numbers: list[int]) -> None:
    from pymongo import MongoClient

    client = MongoClient(uri, tz_aware=True)
    storage = Storage(client[db_name])
    repositories = intake_repository.mongo(storage, FixedClock(NOW))
    for n in numbers:
        state = {
            "_id": f"ref-{n}",
            "site_id": SITE,
            "program": _program(n),
            "status": "received",
            "source": "GP",
            "received_at": _received_at(n),
        }
        listing.place(state, repositories.sequences, intake_repository.lanes_of(state))
        repositories.put_row(state, new=True)
    storage.pending.flush()  # what a process adjusted is written before it exits
    client.close()


def _move(uri: str, db_name: str, numbers: list[int]) -> None:
    """Another process's referrals, each taken along to its final status a stage at a time."""
    from pymongo import MongoClient

    client = MongoClient(uri, tz_aware=True)
    storage = Storage(client[db_name])
    repositories = intake_repository.mongo(storage, FixedClock(NOW))
    for n in numbers:
        [row] = repositories.rows.find({"_id": f"ref-{n}"})  # index: _id
        for status in PATHS[_final_status(n)]:
            row = {**row, "status": status}
            repositories.put_row(row)
    storage.pending.flush()
    client.close()


def _run(target, uri: str, db_name: str, slices: list[list[int]]) -> None:
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=target, args=(uri, db_name, s)) for s in slices]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert all(w.exitcode == 0 for w in workers)


def _expected() -> dict[str, tuple[int, int | None]]:
    waiting: dict[str, list[int]] = {p: [] for p in PROGRAMS}
    for n in range(PROCESSES * PER_PROCESS):
        if _final_status(n) not in ("admitted", "withdrawn", "not_eligible"):
            waiting[_program(n)].append(n)
    return {p: (len(ns), max(ns) if ns else None) for p, ns in waiting.items()}


def _figures(repositories) -> dict[str, tuple[int, int | None]]:
    """The site's figures as its queue page reads them: each time (the organisation-wide ones
    are kept a few seconds while the overview is in use)."""
    c = SimpleNamespace(repositories=repositories, clock=FixedClock(NOW))
    [site] = intake_figures.waitlist_figures(c, OPERATOR, SITE)["items"]
    return {p["program"]: (p["waiting"], p["oldest_waiting_days"]) for p in site["programs"]}


def test_the_waitlist_figures_stay_right_as_processes_move_referrals_at_once(fresh_db, infra):
    intake_repository.ensure_indexes(fresh_db)
    fresh_db[intake_repository.SITES].insert_one({"_id": SITE, "name": "North"})
    for program in PROGRAMS:
        fresh_db[intake_repository.PROGRAMS].insert_one(
            {"_id": f"{SITE}:{program}", "site_id": SITE, "kind": program}
        )
    uri, name = infra.profile.mongodb_uri, fresh_db.name
    numbers = list(range(PROCESSES * PER_PROCESS))
    received_by = [numbers[i::PROCESSES] for i in range(PROCESSES)]
    storage = Storage(fresh_db)
    repositories = intake_repository.mongo(storage, FixedClock(NOW))
    try:
        _run(_receive, uri, name, received_by)
        everyone = _figures(repositories)
        # each process moves referrals another process received, all at once
        _run(_move, uri, name, received_by[1:] + received_by[:1])
        moved = _figures(repositories)
        # recounts the changed sites (rows index: changed, equality)
        changed = repositories.reconcile_changed_sites()
        recounted = _figures(repositories)
    finally:
        storage.deferred.sweep()

    assert changed == {SITE}, "the hourly recount finds the site whose referrals changed"
    oldest = {p: max(n for n in numbers if _program(n) == p) for p in PROGRAMS}
    assert everyone == {p: (len(numbers) // 2, oldest[p]) for p in PROGRAMS}
    expected = _expected()
    assert all(days is not None and days < oldest[p] for p, (_, days) in expected.items())
    assert moved == expected  # the oldest left: the next one's wait, by the writes alone
    assert recounted == expected
    # the recount folded every writer's document into one per program
    assert fresh_db[TALLIES].count_documents({"kind": "waitlist", "site_id": SITE}) == 2
