"""Notifications' MongoDB collections and their indexes."""

from __future__ import annotations

from pymongo.database import Database

from dbt_shared.events import outbox

INBOX = "inbox_items"
DELIVERIES = "deliveries"

OUTBOX_COLLECTIONS = [DELIVERIES]


def ensure_indexes(db: Database) -> None:
    outbox.ensure_indexes(db[DELIVERIES])
    db[INBOX].create_index([("site_id", 1), ("_id", 1)], name="site")
    db[DELIVERIES].create_index([("status", 1), ("next_attempt_at", 1)], name="due")
