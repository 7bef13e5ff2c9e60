"""Two facilitators on one attendance sheet at the same time, on the server the tests run
against (FerretDB locally): each saves member by member as the console does; every record that
answered success is stored, the same member set by both at once keeps one of the two whole,
nobody gets a refusal, and each member's run of misses is the one their records make."""

from __future__ import annotations

import os
import threading
from datetime import UTC, date, datetime, timedelta

from dbt_shared.auth import Principal
from dbt_shared.clock import FixedClock
from dbt_shared.protection import FieldCipher
from dbt_shared.storage.context import Storage
from skills_group import repository, services
from skills_group.bootstrap import Components

SITE, PROGRAM = "site-a", "site-a:adult"
NOW = datetime(2027, 1, 4, 12, 0, tzinfo=UTC)
ANA = Principal("subject-ana", frozenset({"facilitator"}), frozenset({SITE}))
BEN = Principal("subject-ben", frozenset({"facilitator"}), frozenset({SITE}))
COORDINATOR = Principal("coord", frozenset({"coordinator"}), frozenset({SITE}))
MEMBERS = [f"c{n}" for n in range(1, 9)]
ROUNDS = 3  # sessions, each taken by both at once


def _components(db, clock) -> Components:
    storage = Storage(db)
    c = Components(
        repositories=repository.mongo(storage, clock),
        clock=clock,
        locks=storage.lock,
        cipher=FieldCipher(os.urandom(32)),
        storage=storage,
    )
    repository.ensure_indexes(db)
    r = c.repositories
    r.sites.insert({"_id": SITE, "timezone": "America/Chicago"})
    settings = {"curriculum": "M2 DT6 M2 ER6 M2 IE6", "group_capacity": 8}
    r.programs.insert({"_id": PROGRAM, "site_id": SITE, "kind": "adult", "settings": settings})
    for cid, subject in (("ana", "subject-ana"), ("ben", "subject-ben")):
        services.on_clinician_registered(
            {"clinician_id": cid, "site_id": SITE, "subject": subject, "roles": ["facilitator"]},
            c,
        )
    return c


def test_two_facilitators_on_one_sheet_lose_nothing(fresh_db):
    clock = FixedClock(NOW)
    c = _components(fresh_db, clock)
    try:
        group = services.create_group(
            {
                "site_id": SITE,
                "program_id": PROGRAM,
                "name": "Tuesday",
                "weekday": "tue",
                "start_time": "18:00",
                "duration_minutes": 150,
                "room": "Room 2",
                "facilitator_ids": ["ana", "ben"],
                "starts_on": date(2027, 1, 5),
                "cycles": 1,
                "capacity": None,
            },
            c,
            COORDINATOR,
        )
        for client_id in MEMBERS:
            services.on_client_admitted(
                {
                    "client_id": client_id,
                    "site_id": SITE,
                    "program_id": PROGRAM,
                    "therapist_id": "ther-1",
                    "availability": [{"weekday": "tue", "start": "17:00", "end": "22:00"}],
                    "admitted_at": NOW,
                },
                c,
            )
        calendar = services.list_sessions(group["_id"], {}, c, COORDINATOR)
        refused: list[BaseException] = []
        expected: dict[tuple[str, str], set[str]] = {}
        for week in range(ROUNDS):
            session = calendar[week]
            clock._now = session["starts_at"] + timedelta(minutes=20)
            # ana takes the first half, ben the second, and both set c1 at the same moment
            plan = [(ANA, m, "absent") for m in MEMBERS[:4]]
            plan += [(BEN, m, "present") for m in MEMBERS[4:]]
            plan += [(BEN, "c1", "excused")]
            start = threading.Barrier(len(plan))

            def write(who, client_id, status, session_id=session["_id"], gate=start):
                record = {"client_id": client_id, "status": status}
                if status == "excused":
                    record["reason"] = "Told us ahead"
                gate.wait()
                try:
                    services.record_attendance(session_id, {"records": [record]}, c, who)
                except BaseException as exc:
                    refused.append(exc)

            threads = [threading.Thread(target=write, args=step) for step in plan]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            for _who, client_id, status in plan:
                expected.setdefault((session["_id"], client_id), set()).add(status)

        assert refused == []
        for week in range(ROUNDS):
            session_id = calendar[week]["_id"]
            stored = {r["client_id"]: r for r in c.repositories.records_of_session(session_id)}
            assert set(stored) == set(MEMBERS)  # nothing lost
            for client_id, record in stored.items():
                assert record["status"] in expected[(session_id, client_id)]
        roster = {r["client_id"]: r for r in services.roster(calendar[ROUNDS]["_id"], c, ANA)}
        assert all(roster[m]["consecutive_misses"] == ROUNDS for m in MEMBERS[1:4])
        assert all(roster[m]["at_risk"] for m in MEMBERS[1:4])  # three misses of four
        assert all(roster[m]["consecutive_misses"] == 0 for m in MEMBERS[4:])
        assert roster["c1"]["consecutive_misses"] == ROUNDS  # absent or excused: both count
    finally:
        c.storage.deferred.sweep()
