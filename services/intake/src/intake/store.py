"""Intake's MongoDB collections, their indexes, and the queries the API shares."""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from dbt_shared import audit
from dbt_shared.events import outbox

SITES = "sites"
PROGRAMS = "programs"
CLINICIANS = "clinicians"
REFERRALS = "referrals"

# Collections whose documents carry pending events for the outbox relay.
OUTBOX_COLLECTIONS = [SITES, PROGRAMS, CLINICIANS, REFERRALS]

# Statuses in which an assigned therapist carries the client on their caseload.
CASELOAD_STATUSES = ["eligible", "orientation", "committed", "admitted"]


def ensure_indexes(db: Database) -> None:
    for name in OUTBOX_COLLECTIONS:
        outbox.ensure_indexes(db[name])
    db[REFERRALS].create_index([("site_id", 1), ("status", 1), ("_id", 1)], name="site_status")
    db[REFERRALS].create_index("therapist.clinician_id", name="therapist")
    db[PROGRAMS].create_index([("site_id", 1), ("kind", 1)], name="site_kind", unique=True)
    db[CLINICIANS].create_index([("site_id", 1), ("subject", 1)], name="site_subject", unique=True)
    audit.ensure_indexes(db)


def caseload(db: Database, clinician_id: str) -> int:
    return db[REFERRALS].count_documents(
        {"therapist.clinician_id": clinician_id, "status": {"$in": CASELOAD_STATUSES}}
    )


def program_for(db: Database, site_id: str, kind: str) -> dict[str, Any] | None:
    return db[PROGRAMS].find_one({"site_id": site_id, "kind": kind}, {outbox.OUTBOX_FIELD: 0})


def waitlist_counts(
    db: Database, statuses: list[str], site_id: str | None = None, program: str | None = None
) -> list[dict[str, Any]]:
    """``[{"site_id", "status", "count"}]`` for referrals waiting in ``statuses``."""
    match: dict[str, Any] = {"status": {"$in": statuses}}
    if site_id:
        match["site_id"] = site_id
    if program:
        match["program"] = program
    rows = db[REFERRALS].aggregate(
        [
            {"$match": match},
            {"$group": {"_id": {"site_id": "$site_id", "status": "$status"}, "count": {"$sum": 1}}},
        ]
    )
    return [{**row["_id"], "count": row["count"]} for row in rows]
