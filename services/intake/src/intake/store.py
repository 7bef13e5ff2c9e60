"""Intake's MongoDB collections and their indexes."""

from __future__ import annotations

from pymongo.database import Database

from dbt_shared import audit
from dbt_shared.events import outbox

SITES = "sites"
REFERRALS = "referrals"

# Collections whose documents carry pending events for the outbox relay.
OUTBOX_COLLECTIONS = [SITES, REFERRALS]


def ensure_indexes(db: Database) -> None:
    for name in OUTBOX_COLLECTIONS:
        outbox.ensure_indexes(db[name])
    db[REFERRALS].create_index([("site_id", 1), ("_id", 1)], name="site")
    audit.ensure_indexes(db)
