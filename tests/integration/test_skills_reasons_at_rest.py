"""Attendance reasons an earlier version stored in the clear are sealed once by skills-group's
worker, on the real server (FerretDB locally), and staff still read them."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

from dbt_shared.clock import FixedClock
from dbt_shared.document_locks import flush_deferred_deletes
from dbt_shared.protection import FieldCipher
from skills_group import repository
from skills_group.bootstrap import Components
from skills_group.services import attendance

CLOCK = FixedClock(datetime(2026, 3, 3, 15, 0, tzinfo=UTC))


def test_reasons_stored_in_the_clear_are_sealed_once_and_still_shown(fresh_db):
    c = Components(
        repositories=repository.mongo(fresh_db, CLOCK),
        clock=CLOCK,
        locks=lambda _name: None,
        cipher=FieldCipher(os.urandom(32)),
    )
    record = {
        "session_id": "sess-1",
        "client_id": "c1",
        "enrollment_id": "e1",
        "group_id": "g1",
        "index": 0,
        "status": "excused",
        "minutes_late": None,
        "recorded_by": "fac",
        "recorded_at": CLOCK.now(),
        "_rev": 1,
    }
    fresh_db[repository.ATTENDANCE].insert_many(
        [
            {**record, "_id": "sess-1:c1", "reason": "Inpatient after an overdose"},
            {**record, "_id": "sess-1:c2", "client_id": "c2", "reason": None},
        ]
    )

    try:
        assert attendance.seal_stored_reasons(c, fresh_db) == 0  # places nothing, visits all
        assert attendance.seal_stored_reasons(c, fresh_db) is None  # once per database
    finally:
        flush_deferred_deletes()  # the save's released lock, while the database exists

    stored = list(fresh_db[repository.ATTENDANCE].find({}, sort=[("_id", 1)]))
    assert "overdose" not in json.dumps(stored, default=str)
    assert stored[0]["reason"].startswith("enc:v1:") and stored[1]["reason"] is None
    (shown,) = [r for r in c.repositories.records_of_session("sess-1") if r["client_id"] == "c1"]
    assert attendance._reason(c, shown) == "Inpatient after an overdose"
