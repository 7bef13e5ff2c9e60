"""Notifications' storage: inbox items and deliveries behind small interfaces.

Both are built on ``dbt_shared.documents``: ``MongoDocumentStore`` in the processes (``mongo``),
``InMemoryDocumentStore`` in unit tests (``in_memory``). A delivery's outcome event is recorded
with the write that settles it (the store's outbox: the relay or the hand-off publishes it).
Every query below names the index that serves it on MongoDB 7.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.collection import Collection
from pymongo.database import Database

from dbt_shared import site_directory
from dbt_shared.documents import (
    REVISION,
    DocumentLock,
    DocumentStore,
    InMemoryDocumentStore,
    MongoDocumentStore,
    needs_write_lock,
)
from dbt_shared.events import outbox
from dbt_shared.events.envelope import Event
from notifications.domain.deliveries import DeliveryStatus, claim_order

INBOX = "inbox_items"
DELIVERIES = "deliveries"

QUEUE = "delivery_queue"  # the pending deliveries only: what the timer reads
ORPHAN_GRACE = timedelta(minutes=2)

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
    db[QUEUE].create_index([("priority_rank", 1), ("next_attempt_at", 1)], name="due")
    # Deliveries recorded before the queue existed join it (index due_by_priority: status).
    queue = MongoDeliveries(db[DELIVERIES])
    for delivery in db[DELIVERIES].find({"status": DeliveryStatus.PENDING}):
        queue._enqueue(delivery)


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
    """Deliveries, with a queue that holds only the pending ones (``delivery_queue``).

    The timer reads the queue, never the deliveries, so a year of sent messages does not slow
    the next one. A queue entry is written before its delivery (like an outbox intent): an
    entry whose delivery never got written, or is settled already, is dropped when claimed.
    """

    def __init__(self, collection: Collection) -> None:
        super().__init__(MongoDocumentStore(collection, "delivery"))
        self.collection = collection
        self.queue = collection.database[QUEUE]

    def add(self, delivery: dict[str, Any]) -> bool:
        self._enqueue(delivery)
        return super().add(delivery)

    def save(self, delivery: dict[str, Any], events: Iterable[Event] = ()) -> dict[str, Any]:
        stored = super().save(delivery, events)
        if stored["status"] == DeliveryStatus.PENDING:
            self._enqueue(stored)
        else:
            self.queue.delete_one({"_id": stored["_id"]})  # index: _id
        return stored

    def _enqueue(self, delivery: dict[str, Any]) -> None:
        self.queue.update_one(
            {"_id": delivery["_id"]},  # index: _id
            {
                "$set": {
                    "priority_rank": delivery["priority_rank"],
                    "next_attempt_at": delivery["next_attempt_at"],
                    "queued_at": delivery.get("created_at"),
                }
            },
            upsert=True,
        )

    def claim_due(self, now: datetime, lease: timedelta) -> dict[str, Any] | None:
        while True:
            # Index ``due`` (priority_rank, next_attempt_at) on the queue: pending work only,
            # urgent first, so an alert arriving mid-batch goes next.
            entry = self._claim_entry(now, lease)
            if entry is None:
                return None
            delivery = self.collection.find_one({"_id": entry["_id"]})  # index: _id
            if delivery is not None and delivery["status"] == DeliveryStatus.PENDING:
                # The revision moves on, so a write decided before the claim loses.
                return self.collection.find_one_and_update(
                    {"_id": delivery["_id"]},
                    {"$set": {"next_attempt_at": now + lease}, "$inc": {REVISION: 1}},
                    return_document=ReturnDocument.AFTER,
                )
            if delivery is None and now - _aware(entry.get("queued_at") or now) < ORPHAN_GRACE:
                continue  # its delivery may still be being written: the lease brings it back
            self.queue.delete_one({"_id": entry["_id"]})  # settled, or never written

    def _claim_entry(self, now: datetime, lease: timedelta) -> dict[str, Any] | None:
        due = {"next_attempt_at": {"$lte": now}}
        if not needs_write_lock(self.queue.database):
            return self.queue.find_one_and_update(
                due,
                {"$set": {"next_attempt_at": now + lease}},
                sort=claim_order(),
                return_document=ReturnDocument.AFTER,
            )
        for entry in self.queue.find(due, sort=claim_order(), limit=5):
            # FerretDB's find-and-modify is not atomic: claim under the entry's lock.
            with DocumentLock(self.queue.database, f"{QUEUE}/{entry['_id']}"):
                current = self.queue.find_one({"_id": entry["_id"]})
                if current is None or _aware(current["next_attempt_at"]) > now:
                    continue  # claimed by another worker meanwhile
                self.queue.update_one(
                    {"_id": entry["_id"]}, {"$set": {"next_attempt_at": now + lease}}
                )
                return current
        return None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


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
