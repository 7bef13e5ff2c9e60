"""Screenings an earlier version stored in the clear are sealed once by the worker, on the real
server (FerretDB locally), and staff still read them."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

from dbt_shared.clock import FixedClock
from dbt_shared.document_locks import flush_deferred_deletes
from dbt_shared.protection import FieldCipher
from intake import repository
from intake.bootstrap import Components
from intake.services import referrals, screenings

CLOCK = FixedClock(datetime(2026, 3, 3, 15, 0, tzinfo=UTC))


def test_screenings_stored_in_the_clear_are_sealed_once_and_still_shown(fresh_db):
    c = Components(repository.mongo(fresh_db, CLOCK), FieldCipher(os.urandom(32)), CLOCK)
    old = {
        "id": "scr-1",
        "completed_at": CLOCK.now(),
        "completed_by": "coord",
        "risk_level": "high",
        "phq9_self_harm_thoughts": True,
        "flags": ["cssrs_high", "phq9_self_harm_thoughts"],
        "answers": c.cipher.encrypt_json({}, record_id="ref-1", field="screenings.scr-1"),
    }
    fresh_db[repository.REFERRALS].insert_one(
        {
            "_id": "ref-1",
            "site_id": "s1",
            "program": "adult",
            "status": "screening",
            "client": {},
            "screenings": [old],
            "history": [],
            "_rev": 3,
        }
    )

    try:
        assert screenings.seal_stored(c, fresh_db) == 0  # places nothing, visits every referral
        assert screenings.seal_stored(c, fresh_db) is None  # once per database
    finally:
        flush_deferred_deletes()  # the save's released lock, while the database exists

    stored = fresh_db[repository.REFERRALS].find_one({"_id": "ref-1"})
    dump = json.dumps(stored, default=str)
    assert "risk_level" not in dump and "self_harm" not in dump and "cssrs_" not in dump
    assert stored["screenings"][0]["summary"].startswith("enc:v1:")
    (shown,) = referrals.view(c, c.repositories.referral("ref-1"))["screenings"]
    assert shown["risk_level"] == "high" and shown["phq9_self_harm_thoughts"] is True
