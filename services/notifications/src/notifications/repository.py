"""Notifications' storage: inbox items and deliveries behind small interfaces.

Both are built on ``dbt_shared.documents``: ``MongoDocumentStore`` in the processes (``mongo``),
``InMemoryDocumentStore`` in unit tests (``in_memory``). A delivery's outcome event is recorded
with the write that settles it (the store's outbox: the relay or the hand-off publishes it).
Every query below names the index that serves it on MongoDB 7.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.collection import Collection
from pymongo.database import Database

from dbt_shared import site_directory
from dbt_shared.documents import (
    REVISION,
    DocumentStore,
    InMemoryDocumentStore,
    MongoDocumentStore,
)
from dbt_shared.events import outbox
from dbt_shared.events.envelope import Event
from notifications.domain.deliveries import DeliveryStatus, claim_order

INBOX = "inbox_items"
DELIVERIES = "deliveries"

OUTBOX_COLLECTIONS = [DELIVERIES]

# A site's inbox: urgent items first, then the rest; within each, oldest first. Inbox ids are
# derived from events (not time-ordered), so ``created_at`` orders by age and ``_id`` breaks ties.
INBOX_ORDER = [("priority_rank", 1), ("created_at", 1), ("_id", 1)]


def ensure_indexes(db: Database) -> None:
    outbox.ensure_indexes(db)
    db[INBOX].create_index([("site_id", 1), *INBOX_ORDER], name="site_by_priority")
    db[DELIVERIES].create_index(
        [("status", 1), ("priority_rank", 1), ("next_attempt_at", 1)], name="due_by_priority"
    )


# -- the inbox -----------------------------------------------------------------------------------
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


class InboxItems:
    """The sites' inboxes, on any ``DocumentStore``."""

    def __init__(self, store: DocumentStore) -> None:
        self.store = store

    def add(self, item: dict[str, Any]) -> bool:
        """Store a new item; ``False`` if an earlier delivery of its event already did."""
        _stored, created = self.store.insert(item)
        return created

    def page(
        self, site_id: str, *, limit: int, after: InboxPosition | None
    ) -> tuple[list[dict[str, Any]], InboxPosition | None]:
        """One page of a site's inbox, and the position to continue from (``None`` at the end).

        Index ``site_by_priority`` (site_id, priority_rank, created_at, _id): equality on the
        site, the keyset bounds and the sort all within it; one page read.
        """
        query: dict[str, Any] = {"site_id": site_id}
        if after is not None:
            query = {"$and": [query, inbox_after(after)]}
        docs = self.store.find(query, sort=INBOX_ORDER, limit=limit + 1)
        more = len(docs) > limit
        docs = docs[:limit]
        return docs, (InboxPosition.of(docs[-1]) if more and docs else None)


# -- deliveries ----------------------------------------------------------------------------------
def _due(now: datetime) -> dict[str, Any]:
    return {"status": DeliveryStatus.PENDING, "next_attempt_at": {"$lte": now}}


class Deliveries:
    """Deliveries and their outcome events. ``claim_due`` is the one storage-specific part."""

    def __init__(self, store: DocumentStore) -> None:
        self.store = store

    def add(self, delivery: dict[str, Any]) -> bool:
        """Store a new pending delivery; ``False`` if its event already caused it."""
        _stored, created = self.store.insert(delivery)
        return created

    def get(self, delivery_id: str) -> dict[str, Any] | None:
        return self.store.get(delivery_id)

    def save(self, delivery: dict[str, Any], events: Iterable[Event] = ()) -> dict[str, Any]:
        """Write a changed delivery (and its outcome event) if no one changed it since it was
        claimed; ``StaleWrite`` otherwise."""
        return self.store.save(delivery, events)

    def claim_due(self, now: datetime, lease: timedelta) -> dict[str, Any] | None:
        """Claim the most urgent due delivery by pushing its next attempt past ``lease``."""
        raise NotImplementedError


class MongoDeliveries(Deliveries):
    def __init__(self, collection: Collection) -> None:
        super().__init__(MongoDocumentStore(collection, "delivery"))
        self.collection = collection

    def claim_due(self, now: datetime, lease: timedelta) -> dict[str, Any] | None:
        # Index ``due_by_priority`` (status, priority_rank, next_attempt_at): only pending work,
        # in claim order. One atomic find-and-modify, so an alert arriving mid-batch goes next;
        # the revision moves on, so a write decided before the claim loses.
        return self.collection.find_one_and_update(
            _due(now),
            {"$set": {"next_attempt_at": now + lease}, "$inc": {REVISION: 1}},
            sort=claim_order(),
            return_document=ReturnDocument.AFTER,
        )


class InMemoryDeliveries(Deliveries):
    def __init__(self) -> None:
        super().__init__(InMemoryDocumentStore("delivery"))

    def claim_due(self, now: datetime, lease: timedelta) -> dict[str, Any] | None:
        for due in self.store.find(_due(now), sort=claim_order(), limit=1):
            return self.store.save({**due, "next_attempt_at": now + lease})
        return None


# -- the sites' time zones (the site directory that dbt_shared keeps) ----------------------------
class SiteTimeZones:
    """The time zone of each site this service has learned of (``None`` until it has)."""

    def timezone_of(self, site_id: str) -> str | None:
        raise NotImplementedError


class MongoSiteTimeZones(SiteTimeZones):
    def __init__(self, db: Database) -> None:
        self.collection = db[site_directory.COLLECTION]

    def timezone_of(self, site_id: str) -> str | None:
        # Index ``_id``: one site.
        site = self.collection.find_one({"_id": site_id}, {"timezone": 1})
        return site.get("timezone") if site else None


class InMemorySiteTimeZones(SiteTimeZones):
    def __init__(self, zones: dict[str, str] | None = None) -> None:
        self.zones = dict(zones or {})

    def timezone_of(self, site_id: str) -> str | None:
        return self.zones.get(site_id)


# -- all of them ---------------------------------------------------------------------------------
@dataclass
class Repositories:
    inbox: InboxItems
    deliveries: Deliveries
    site_zones: SiteTimeZones


def mongo(db: Database) -> Repositories:
    return Repositories(
        inbox=InboxItems(MongoDocumentStore(db[INBOX], "inbox item")),
        deliveries=MongoDeliveries(db[DELIVERIES]),
        site_zones=MongoSiteTimeZones(db),
    )


def in_memory() -> Repositories:
    return Repositories(
        inbox=InboxItems(InMemoryDocumentStore("inbox item")),
        deliveries=InMemoryDeliveries(),
        site_zones=InMemorySiteTimeZones(),
    )
