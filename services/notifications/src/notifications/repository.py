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
from pymongo.errors import BulkWriteError

from dbt_shared import listing, site_directory
from dbt_shared.documents import (
    REVISION,
    DocumentLock,
    DocumentStore,
    MongoDocumentStore,
    needs_write_lock,
)
from dbt_shared.events import outbox
from dbt_shared.events.envelope import Event
from dbt_shared.memory_documents import InMemoryDocumentStore
from notifications.domain.deliveries import DeliveryStatus, claim_order
from notifications.domain.purposes import PRIORITY_RANKS

INBOX = "inbox_items"
DELIVERIES = "deliveries"

QUEUE = "delivery_queue"  # the pending deliveries only: what the timer reads
ORPHAN_GRACE = timedelta(minutes=2)
CANDIDATES = 50  # due entries one queue read yields on FerretDB

OUTBOX_COLLECTIONS = [DELIVERIES]

INBOX_BACKFILLED = "inbox:backfilled"


def ensure_indexes(db: Database) -> None:
    outbox.ensure_indexes(db)
    db[INBOX].create_index(
        [("site_id", 1), ("priority_rank", 1), ("bucket", 1), ("_id", 1)], name="site_inbox"
    )
    if "site_by_priority" in db[INBOX].index_information():
        db[INBOX].drop_index("site_by_priority")
    listing.backfill_in_background(
        db[INBOX],
        listing.MongoSequences(db),
        lambda item: {"bucket": inbox_key(item["site_id"], item["priority_rank"])},
        marker=INBOX_BACKFILLED,
    )
    db[DELIVERIES].create_index(
        [("status", 1), ("priority_rank", 1), ("next_attempt_at", 1)], name="due_by_priority"
    )
    db[QUEUE].create_index([("priority_rank", 1), ("next_attempt_at", 1)], name="due")
    # Deliveries recorded before the queue existed join it (index due_by_priority: status).
    queue = MongoDeliveries(db[DELIVERIES])
    for delivery in db[DELIVERIES].find({"status": DeliveryStatus.PENDING}):
        queue._enqueue(delivery)


# -- the inbox -----------------------------------------------------------------------------------
def inbox_key(site_id: str, rank: int) -> str:
    """The sequence of one priority of a site's inbox (bucket field ``bucket``)."""
    return f"inbox:site:{site_id}:rank:{rank}"


def _inbox_lanes(item: dict[str, Any]) -> dict[str, str]:
    return {"bucket": inbox_key(item["site_id"], item["priority_rank"])}


class InboxItems:
    """The sites' inboxes, on any ``DocumentStore``: one bucketed list per site and priority
    (``dbt_shared.listing``), urgent first, each oldest first."""

    def __init__(self, store: DocumentStore, sequences: listing.Sequences) -> None:
        self.store = store
        self.sequences = sequences

    def add_many(self, items: list[dict[str, Any]]) -> set[str]:
        """Store new items: one ``take_many`` per site and priority, one bulk insert; answers
        the ids stored now (an item stored before, by an earlier delivery of its event, is left
        as it is)."""
        listing.place_many(items, self.sequences, _inbox_lanes)
        return self.store.insert_many(items)

    def page(
        self, site_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of a site's inbox and the cursor of the next (``None`` at the end).

        Index ``site_inbox`` (site_id, priority_rank, bucket, _id): one equality query per
        bucket, a page reads one or two buckets, whatever the inbox has held.
        """
        lanes = [
            listing.Lane(
                {"site_id": site_id, "priority_rank": rank}, inbox_key(site_id, rank), "bucket"
            )
            for rank in sorted(PRIORITY_RANKS.values())
        ]
        return listing.page(self.store, lanes, self.sequences, limit=limit, cursor=cursor)


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

    def add_many(self, deliveries: list[dict[str, Any]]) -> set[str]:
        """``add`` for a batch; answers the ids stored now."""
        return {d["_id"] for d in deliveries if self.add(d)}

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
        self._candidates: list[dict[str, Any]] = []  # due entries read, not yet claimed

    def add(self, delivery: dict[str, Any]) -> bool:
        self._enqueue(delivery)
        return super().add(delivery)

    def add_many(self, deliveries: list[dict[str, Any]]) -> set[str]:
        """Queue entries first (as ``add`` does), then the deliveries: two bulk writes. An entry
        or a delivery stored before (a redelivered event) is left as it is."""
        if not deliveries:
            return set()
        entries = [
            {
                "_id": d["_id"],
                "priority_rank": d["priority_rank"],
                "next_attempt_at": d["next_attempt_at"],
                "queued_at": d.get("created_at"),
            }
            for d in deliveries
        ]
        try:
            self.queue.insert_many(entries, ordered=False)
        except BulkWriteError as exc:
            if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
                raise
        return self.store.insert_many(deliveries)

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
        # FerretDB: the sorted read of the due entries decodes the whole queue (it pushes no
        # range, sort or limit down), so one read yields the next CANDIDATES claims; an urgent
        # entry that fell due meanwhile (equality on its rank: only urgent entries decoded)
        # still goes first.
        urgent = list(self.queue.find({"priority_rank": 0, **due}, sort=claim_order(), limit=1))
        if urgent and all(c["_id"] != urgent[0]["_id"] for c in self._candidates[:1]):
            self._candidates.insert(0, urgent[0])
        if not self._candidates:
            self._candidates = list(self.queue.find(due, sort=claim_order(), limit=CANDIDATES))
        while self._candidates:
            entry = self._candidates.pop(0)
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
        inbox=InboxItems(MongoDocumentStore(db[INBOX], "inbox item"), listing.MongoSequences(db)),
        deliveries=MongoDeliveries(db[DELIVERIES]),
        site_zones=MongoSiteTimeZones(db),
    )


def in_memory() -> Repositories:
    return Repositories(
        inbox=InboxItems(InMemoryDocumentStore("inbox item"), listing.InMemorySequences()),
        deliveries=InMemoryDeliveries(),
        site_zones=InMemorySiteTimeZones(),
    )
