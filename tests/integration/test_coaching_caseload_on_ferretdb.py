"""The therapist's console reads on the test server (FerretDB locally): the new indexes are
made, a caseload is read by therapist (``clients.therapist``), the after-hours figures by site
and local month (``coaching_contacts.site_month``) against the site's clinicians
(``clinicians.site``), and the queue's digest from the requests in hand (``site_active``)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from coaching import repository
from coaching.bootstrap import Components
from coaching.services import caseload
from dbt_shared.auth import Principal
from dbt_shared.clock import FixedClock
from dbt_shared.protection import FieldCipher
from dbt_shared.storage.context import Storage

SITE = "site-1"
# Tuesday 3 March 2026, 18:00 in New York
NOW = datetime(2026, 3, 3, 23, 0, tzinfo=UTC)


def _components(db) -> Components:
    storage = Storage(db)
    return Components(
        repositories=repository.mongo(storage, FixedClock(NOW)),
        cipher=FieldCipher(os.urandom(32)),
        clock=FixedClock(NOW),
        locks=storage.lock,
        storage=storage,
    )


def test_the_caseload_and_after_hours_reads_use_their_indexes_on_the_test_server(fresh_db):
    repository.ensure_indexes(fresh_db)
    assert "site_month" in fresh_db[repository.CONTACTS].index_information()
    assert "therapist" in fresh_db[repository.CLIENTS].index_information()
    assert "site" in fresh_db[repository.CLINICIANS].index_information()
    c = _components(fresh_db)
    fresh_db["sites"].insert_one({"_id": SITE, "timezone": "America/New_York"})
    for cid in ("tess", "pat", "bea"):
        fresh_db[repository.CLINICIANS].insert_one(
            {"_id": cid, "site_id": SITE, "subject": f"sub-{cid}", "roles": ["therapist"]}
        )
    fresh_db[repository.CLIENTS].insert_many(
        [
            {"_id": "client-1", "site_id": SITE, "program_id": "p", "therapist_id": "tess"},
            {"_id": "client-2", "site_id": SITE, "program_id": "p", "therapist_id": "pat"},
        ]
    )
    contacts = [
        ("pat", NOW - timedelta(minutes=n), 10, "2026-03", "2026-W10") for n in range(3)
    ] + [
        ("tess", NOW, 20, "2026-03", "2026-W10"),
        ("pat", NOW - timedelta(days=2), 10, "2026-03", "2026-W09"),  # Sunday: last week
        ("pat", NOW - timedelta(days=40), 10, "2026-01", "2026-W04"),  # another month
        ("pat", NOW - timedelta(hours=5), 30, "2026-03", "2026-W10"),  # in business hours
    ]
    fresh_db[repository.CONTACTS].insert_many(
        {
            "_id": f"k{n}",
            "clinician_id": who,
            "site_id": SITE,
            "week": week,
            "month": month,
            "started_at": at,
            "minutes": minutes,
            "outside_minutes": 0 if n == len(contacts) - 1 else minutes,
        }
        for n, (who, at, minutes, month, week) in enumerate(contacts)
    )
    pat = Principal("sub-pat", frozenset({"therapist"}), frozenset({SITE}))
    figures = caseload.after_hours("pat", c, pat)
    assert figures["week"]["contacts"] == 3 and figures["week"]["team_median_contacts"] == 1.0
    assert figures["month"]["contacts"] == 4 and figures["team_size"] == 3

    mine = caseload.caseload(c, pat)
    assert [x["client_id"] for x in mine["items"]] == ["client-2"]

    fresh_db[repository.REQUESTS].insert_one(
        {
            "_id": "r1",
            "site_id": SITE,
            "client_id": "client-2",
            "active": True,
            "status": "open",
            "notified": ["pat"],
            "routed_to": "pat",
            "history": [],
            "created_at": NOW,
        }
    )
    before = caseload.queue_version(SITE, c, pat)
    fresh_db[repository.REQUESTS].update_one({"_id": "r1"}, {"$set": {"status": "acknowledged"}})
    after = caseload.queue_version(SITE, c, pat)
    assert before["in_hand"] == after["in_hand"] == 1
    assert before["version"] != after["version"]
