"""Skills Group's storage: its collections, their indexes, the collections the relay reads.

No aggregate yet, so no repository: the only collections are the site directory's read model
(``sites``, ``programs``) and the consumer's dedup records, both kept by shared code. The
repositories of its aggregates join here, built on ``dbt_shared.documents``.
"""

from __future__ import annotations

from pymongo.database import Database

# Collections whose documents carry pending events for the outbox relay (none yet).
OUTBOX_COLLECTIONS: list[str] = []


def ensure_indexes(db: Database) -> None:
    """Nothing to index yet beyond the site directory's primary key."""
