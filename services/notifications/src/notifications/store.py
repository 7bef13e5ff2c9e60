"""Notifications' MongoDB collections, their indexes, and the orders they are read in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.database import Database

from dbt_shared.events import outbox

INBOX = "inbox_items"
DELIVERIES = "deliveries"

OUTBOX_COLLECTIONS = [DELIVERIES]

# A site's inbox: urgent items first, then the rest; within each, oldest first. Inbox ids are
# derived from events (not time-ordered), so ``created_at`` orders by age and ``_id`` breaks ties.
INBOX_ORDER = [("priority_rank", 1), ("created_at", 1), ("_id", 1)]


def ensure_indexes(db: Database) -> None:
    outbox.ensure_indexes(db[DELIVERIES])
    db[INBOX].create_index([("site_id", 1), *INBOX_ORDER], name="site_by_priority")
    db[DELIVERIES].create_index(
        [("status", 1), ("priority_rank", 1), ("next_attempt_at", 1)], name="due_by_priority"
    )


@dataclass(frozen=True)
class InboxPosition:
    """Where a page of a site's inbox ended, in ``INBOX_ORDER``."""

    priority_rank: int
    created_at: datetime
    id: str

    @classmethod
    def of(cls, item: dict[str, Any]) -> InboxPosition:
        return cls(item["priority_rank"], item["created_at"], item["_id"])


def inbox_after(position: InboxPosition) -> dict[str, Any]:
    """The query for the items that come after ``position`` in ``INBOX_ORDER``."""
    rank, at = position.priority_rank, position.created_at
    return {
        "$or": [
            {"priority_rank": {"$gt": rank}},
            {"priority_rank": rank, "created_at": {"$gt": at}},
            {"priority_rank": rank, "created_at": at, "_id": {"$gt": position.id}},
        ]
    }


def inbox_page(
    db: Database, site_id: str, *, limit: int, after: InboxPosition | None
) -> tuple[list[dict[str, Any]], InboxPosition | None]:
    """One page of a site's inbox, and the position to continue from (``None`` at the end)."""
    query: dict[str, Any] = {"site_id": site_id}
    if after is not None:
        query = {"$and": [query, inbox_after(after)]}
    docs = list(db[INBOX].find(query, sort=INBOX_ORDER, limit=limit + 1))
    more = len(docs) > limit
    docs = docs[:limit]
    return docs, (InboxPosition.of(docs[-1]) if more and docs else None)
