"""Skills Group service's MongoDB collections and their indexes."""

from __future__ import annotations

from pymongo.database import Database

# Collections whose documents carry pending events for the outbox relay (none yet).
OUTBOX_COLLECTIONS: list[str] = []


def ensure_indexes(db: Database) -> None:
    """Nothing to index yet beyond the site directory's primary key."""
