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

from dbt_shared import listing
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
from notifications.schedule import (
    InMemorySiteTimeZones,
    MongoSiteTimeZones,
    Schedule,
    SiteTimeZones,
)

INBOX = "inbox_items"
DELIVERIES = "deliveries"
PREFERENCES = "preferences"  # per recipient (client or clinician id): channels, quiet hours
OPT_OUTS = "sms_opt_outs"  # per number key (a salted hash, never the number): STOP received
SETTINGS = "site_settings"  # per site: the SMS window, reminder offsets
SCHEDULE = "delivery_schedule"  # scheduled deliveries by the minute they fall due
ENROLLMENTS = "enrollments"  # read model of skills-group's: who attends which group from when
CLINICIANS = "clinicians"  # read model of intake's: a clinician's site and token subject

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
    db[INBOX].create_index([("recipient_id", 1), ("me_bucket", 1), ("_id", 1)], name="my_inbox")
    db[DELIVERIES].create_index(
        [("site_id", 1), ("site_bucket", 1), ("_id", 1)], name="site_deliveries"
    )
    db[DELIVERIES].create_index(
        [("recipient_id", 1), ("recipient_bucket", 1), ("_id", 1)], name="recipient_deliveries"
    )
    db[DELIVERIES].create_index([("session_id", 1), ("status", 1)], name="session_status")
    db[DELIVERIES].create_index([("recipient_id", 1), ("status", 1)], name="recipient_status")
    db[ENROLLMENTS].create_index("status", name="status")
    db[ENROLLMENTS].create_index("client_id", name="client")
    db[CLINICIANS].create_index("subject", name="subject")
    db[SCHEDULE].create_index("slot", name="slot")
    db[ENROLLMENTS].create_index([("group_id", 1), ("status", 1)], name="group_status")
    # Deliveries recorded before the queue existed join it (index due_by_priority: status).
    queue = MongoDeliveries(db[DELIVERIES])
    for delivery in db[DELIVERIES].find({"status": DeliveryStatus.PENDING}):
        queue._enqueue(delivery)


# -- the inbox -----------------------------------------------------------------------------------
def inbox_key(site_id: str, rank: int) -> str:
    """The sequence of one priority of a site's inbox (bucket field ``bucket``)."""
    return f"inbox:site:{site_id}:rank:{rank}"


def my_inbox_key(recipient_id: str) -> str:
    """The sequence of one person's own inbox (bucket field ``me_bucket``)."""
    return f"inbox:me:{recipient_id}"


def _inbox_lanes(item: dict[str, Any]) -> dict[str, str]:
    # A person's own item is in their inbox only, a site's item in the site's inbox.
    if item.get("recipient_id"):
        return {"me_bucket": my_inbox_key(item["recipient_id"])}
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

    def mine(
        self, recipient_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of a person's own inbox, oldest first. Index ``my_inbox`` (recipient_id,
        me_bucket, _id), in buckets."""
        lane = listing.Lane({"recipient_id": recipient_id}, my_inbox_key(recipient_id), "me_bucket")
        return listing.page(self.store, [lane], self.sequences, limit=limit, cursor=cursor)


# -- deliveries ----------------------------------------------------------------------------------
def _due(now: datetime) -> dict[str, Any]:
    return {"status": DeliveryStatus.PENDING, "next_attempt_at": {"$lte": now}}


def site_deliveries(site_id: str) -> str:
    return f"deliveries:site:{site_id}"


def recipient_deliveries(recipient_id: str) -> str:
    return f"deliveries:recipient:{recipient_id}"


def _delivery_lanes(delivery: dict[str, Any]) -> dict[str, str]:
    lanes = {"site_bucket": site_deliveries(delivery["site_id"])}
    if delivery.get("recipient_id"):
        lanes["recipient_bucket"] = recipient_deliveries(delivery["recipient_id"])
    return lanes


class Deliveries:
    """Deliveries and their outcome events (``claim_due`` is storage-specific), each listed in
    two bucketed lists, its site's and its recipient's (``GET /v1/deliveries``)."""

    def __init__(self, store: DocumentStore, sequences: listing.Sequences | None = None) -> None:
        self.store = store
        self.sequences = sequences or listing.InMemorySequences()

    def add(self, delivery: dict[str, Any]) -> bool:
        """Store a new delivery; ``False`` if its event already caused it."""
        return bool(self.add_many([delivery]))

    def add_many(self, deliveries: list[dict[str, Any]]) -> set[str]:
        """``add`` for a batch; answers the ids stored now."""
        listing.place_many(deliveries, self.sequences, _delivery_lanes)
        return {d["_id"] for d in deliveries if self.store.insert(d)[1]}

    def page(self, lanes: list[listing.Lane], *, limit: int, cursor: str | None):
        return listing.page(self.store, lanes, self.sequences, limit=limit, cursor=cursor)

    def of_session(self, session_id: str, status: str) -> list[dict[str, Any]]:
        # index: session_status (session_id, status): one session's reminders in one state
        return self.store.find({"session_id": session_id, "status": status})

    def of_recipient(self, recipient_id: str, status: str) -> list[dict[str, Any]]:
        # index: recipient_status (recipient_id, status): a person's deliveries in one state
        return self.store.find({"recipient_id": recipient_id, "status": status})

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
        super().__init__(
            MongoDocumentStore(collection, "delivery"), listing.MongoSequences(collection.database)
        )
        self.collection = collection
        self.queue = collection.database[QUEUE]
        self._candidates: list[dict[str, Any]] = []  # due entries read, not yet claimed

    def add_many(self, deliveries: list[dict[str, Any]]) -> set[str]:
        """Queue entries first (as ``add`` does), then the deliveries: two bulk writes. An entry
        or a delivery stored before (a redelivered event) is left as it is."""
        if not deliveries:
            return set()
        listing.place_many(deliveries, self.sequences, _delivery_lanes)
        entries = [
            {
                "_id": d["_id"],
                "priority_rank": d["priority_rank"],
                "next_attempt_at": d["next_attempt_at"],
                "queued_at": d.get("created_at"),
            }
            for d in deliveries
            if d["status"] == DeliveryStatus.PENDING  # a scheduled one waits in the schedule
        ]
        if entries:
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
        super().__init__(InMemoryDocumentStore("delivery"), listing.InMemorySequences())

    def claim_due(self, now: datetime, lease: timedelta) -> dict[str, Any] | None:
        for due in self.store.find(_due(now), sort=claim_order(), limit=1):
            return self.store.save({**due, "next_attempt_at": now + lease})
        return None


# -- all of them ---------------------------------------------------------------------------------
@dataclass
class Repositories:
    inbox: InboxItems
    deliveries: Deliveries
    site_zones: SiteTimeZones
    preferences: DocumentStore
    opt_outs: DocumentStore
    settings: DocumentStore
    schedule: Schedule
    enrollments: DocumentStore
    clinicians: DocumentStore

    def enrolled(self, group_id: str) -> list[dict[str, Any]]:
        # index: group_status (group_id, status): a group's members now
        return self.enrollments.find({"group_id": group_id, "status": "active"})

    def enrollments_of(self, client_id: str) -> list[dict[str, Any]]:
        return self.enrollments.find({"client_id": client_id})  # index: client

    def clinician(self, clinician_id: str) -> dict[str, Any] | None:
        return self.clinicians.get(clinician_id)  # index: _id

    def clinicians_of_subject(self, subject: str) -> list[dict[str, Any]]:
        return self.clinicians.find({"subject": subject})  # index: subject


def mongo(db: Database) -> Repositories:
    return Repositories(
        inbox=InboxItems(MongoDocumentStore(db[INBOX], "inbox item"), listing.MongoSequences(db)),
        deliveries=MongoDeliveries(db[DELIVERIES]),
        site_zones=MongoSiteTimeZones(db),
        preferences=MongoDocumentStore(db[PREFERENCES], "preferences"),
        opt_outs=MongoDocumentStore(db[OPT_OUTS], "opt-out"),
        settings=MongoDocumentStore(db[SETTINGS], "site settings"),
        schedule=Schedule(MongoDocumentStore(db[SCHEDULE], "schedule entry")),
        enrollments=MongoDocumentStore(db[ENROLLMENTS], "enrollment"),
        clinicians=MongoDocumentStore(db[CLINICIANS], "clinician"),
    )


def in_memory() -> Repositories:
    return Repositories(
        inbox=InboxItems(InMemoryDocumentStore("inbox item"), listing.InMemorySequences()),
        deliveries=InMemoryDeliveries(),
        site_zones=InMemorySiteTimeZones(),
        preferences=InMemoryDocumentStore("preferences"),
        opt_outs=InMemoryDocumentStore("opt-out"),
        settings=InMemoryDocumentStore("site settings"),
        schedule=Schedule(InMemoryDocumentStore("schedule entry")),
        enrollments=InMemoryDocumentStore("enrollment"),
        clinicians=InMemoryDocumentStore("clinician"),
    )
