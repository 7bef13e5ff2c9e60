"""Referrals an earlier version stored without a person key get one once, from the worker, on
the real server (FerretDB locally): the same person recorded again is found among them, by the
keyed hash, without decrypting anyone's details at that moment."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime

from dbt_shared.auth import Principal
from dbt_shared.clock import FixedClock
from dbt_shared.document_locks import flush_deferred_deletes
from dbt_shared.protection import FieldCipher
from intake import repository
from intake.bootstrap import Components
from intake.services import duplicates

CLOCK = FixedClock(datetime(2026, 3, 3, 15, 0, tzinfo=UTC))
PERSON = {"given_name": "Marisol", "family_name": "Quintanilla", "date_of_birth": "1991-07-04"}


def test_stored_referrals_are_keyed_once_and_then_found(fresh_db):
    c = Components(repository.mongo(fresh_db, CLOCK), FieldCipher(os.urandom(32)), CLOCK)
    c.repositories.known_sites.add("s1")
    client = c.cipher.seal(PERSON, tuple(PERSON), record_id="ref-1", prefix="client")
    fresh_db[repository.REFERRALS].insert_one(
        {
            "_id": "ref-1",
            "site_id": "s1",
            "program": "adult",
            "status": "screening",
            "client": client,
            "screenings": [],
            "history": [],
            "_rev": 2,
        }
    )
    coordinator = Principal("coord", frozenset({"coordinator"}), frozenset({"s1"}))
    ask = {**PERSON, "site_id": "s1", "date_of_birth": date(1991, 7, 4)}
    assert duplicates.check(ask, c, coordinator)["possible_duplicates"] == []  # not keyed yet

    try:
        assert duplicates.key_stored(c, fresh_db) == 0  # places nothing, visits every referral
        assert duplicates.key_stored(c, fresh_db) is None  # once per database
    finally:
        flush_deferred_deletes()  # the save's released lock, while the database exists

    assert duplicates.check(ask, c, coordinator)["possible_duplicates"] == ["ref-1"]
