"""Audit records: who touched which client-data object, when, how, from where. Never the data."""

from __future__ import annotations

from typing import Any

from flask import g, has_request_context, request
from pymongo.database import Database

from dbt_shared import correlation
from dbt_shared.clock import Clock
from dbt_shared.ids import new_id

AUDIT_COLLECTION = "audit_log"


def record(
    db: Database, clock: Clock, *, action: str, object_type: str, object_id: str, site_id: str
) -> dict[str, Any]:
    principal = g.get("principal") if has_request_context() else None
    entry = {
        "_id": new_id(),
        "at": clock.now(),
        "actor": principal.subject if principal else None,
        "roles": sorted(principal.roles) if principal else [],
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "site_id": site_id,
        "request_id": correlation.current(),
        "remote_addr": request.remote_addr if has_request_context() else None,
    }
    db[AUDIT_COLLECTION].insert_one(entry)
    return entry


def ensure_indexes(db: Database) -> None:
    db[AUDIT_COLLECTION].create_index([("object_type", 1), ("object_id", 1)], name="object")
    db[AUDIT_COLLECTION].create_index("at", name="at")
