"""Deliveries and the queue of the pending ones: what the sender claims and settles.

``MongoDeliveries`` keeps a queue beside the deliveries that holds only the pending ones
(``delivery_queue``), so the timer's reads cost the work in flight, not the history, and a send
journal (``notifications.send_journal``): the attempts handed to a provider whose outcome may
not be written with their delivery yet. Every query names the index that serves it on MongoDB 7.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pymongo import ReturnDocument
from pymongo.errors import BulkWriteError

from dbt_shared.clock import aware
from dbt_shared.events.envelope import Event
from dbt_shared.storage import listing
from dbt_shared.storage.documents import REVISION, DocumentStore
from dbt_shared.storage.memory_documents import InMemoryDocumentStore
from notifications.delivery_lists import delivery_lanes
from notifications.domain.deliveries import DeliveryStatus, claim_order
from notifications.domain.purposes import Priority, priority_rank
from notifications.send_journal import (
    JOURNAL,
    InMemorySendJournal,
    MongoSendJournal,
    SendJournal,
    send_key,
)

if TYPE_CHECKING:
    from dbt_shared.storage.context import Storage

QUEUE = "delivery_queue"  # the pending deliveries only: what the timer reads
ORPHAN_GRACE = timedelta(minutes=2)
CANDIDATES = 50  # due entries one queue read yields on FerretDB
URGENT_EVERY_S = 0.2  # how often a claim from those looks for an urgent entry due meanwhile
READY_MAX = 500  # deliveries handed to the sender in memory at most (beyond: the queue)
READY_MARGIN = timedelta(seconds=15)  # a handed-over delivery is sent with this lease left
URGENT_RANK = priority_rank(Priority.URGENT)
_FAR = datetime.max.replace(tzinfo=UTC)  # an entry without its time sorts last


def _due_at_once(delivery: dict[str, Any]) -> bool:
    created = delivery.get("created_at")
    return created is not None and aware(delivery["next_attempt_at"]) <= aware(created)


def _due(now: datetime) -> dict[str, Any]:
    return {"status": DeliveryStatus.PENDING, "next_attempt_at": {"$lte": now}}


class Deliveries:
    """Deliveries and their outcome events (``claim_due`` is storage-specific), each listed in
    two bucketed lists, its site's and its recipient's (``GET /v1/deliveries``)."""

    def __init__(
        self,
        store: DocumentStore,
        sequences: listing.Sequences | None = None,
        journal: SendJournal | None = None,
    ) -> None:
        self.store = store
        self.sequences = sequences or listing.InMemorySequences()
        self.journal = journal or InMemorySendJournal()
        # Set when an urgent delivery due at once is stored: the sender's timer runs at once
        # (``timers``), so a crisis page is pushed, not picked up on the next tick.
        self.wake = threading.Event()

    def add(self, delivery: dict[str, Any]) -> bool:
        """Store a new delivery; ``False`` if its event already caused it."""
        return bool(self.add_many([delivery]))

    def add_many(self, deliveries: list[dict[str, Any]]) -> set[str]:
        """``add`` for a batch; answers the ids stored now."""
        listing.place_many(deliveries, self.sequences, delivery_lanes)
        created = {d["_id"] for d in deliveries if self.store.insert(d)[1]}
        self._wake_for(deliveries, created)
        return created

    def _wake_for(self, deliveries: list[dict[str, Any]], created: set[str]) -> None:
        if any(
            d["_id"] in created
            and d["status"] == DeliveryStatus.PENDING
            and d["priority_rank"] == URGENT_RANK
            and _due_at_once(d)
            for d in deliveries
        ):
            self.wake.set()

    def page(self, lanes: list[listing.Lane], *, limit: int, cursor: str | None):
        return listing.page(self.store, lanes, self.sequences, limit=limit, cursor=cursor)

    def of_session(self, session_id: str, status: str) -> list[dict[str, Any]]:
        # index: session_status (session_id, status): one session's reminders in one state
        return self.store.find({"session_id": session_id, "status": status})

    def of_recipient(self, recipient_id: str, status: str) -> list[dict[str, Any]]:
        # index: recipient_status (recipient_id, status): a person's deliveries in one state
        return self.store.find({"recipient_id": recipient_id, "status": status})

    def get(self, delivery_id: str) -> dict[str, Any] | None:
        """A delivery as stored; a pending one with its attempt in flight (``sending``: the
        attempt and since when), which only the send journal holds until its outcome is
        written."""
        delivery = self.store.get(delivery_id)  # index: _id
        if delivery is None or delivery["status"] != DeliveryStatus.PENDING:
            return delivery
        attempt = delivery.get("attempts", 0) + 1
        begun = self.journal.entry(send_key(delivery, attempt))  # index: _id
        if begun is None:
            return delivery
        return {**delivery, "sending": {"attempt": attempt, "since": aware(begun["since"])}}

    def save(self, delivery: dict[str, Any], events: Iterable[Event] = ()) -> dict[str, Any]:
        """Write a changed delivery (and its outcome event) if no one changed it since it was
        claimed; ``StaleWrite`` otherwise."""
        return self.store.save(delivery, events)

    def save_many(
        self, changes: list[tuple[dict[str, Any], Iterable[Event]]]
    ) -> list[dict[str, Any] | None]:
        """``save`` for several claimed deliveries in a few writes; ``None`` for each one that
        was changed meanwhile (not written: its claimer owns it)."""
        return self.store.save_many(changes)

    def claim_due(self, now: datetime, lease: timedelta) -> dict[str, Any] | None:
        """Claim the most urgent due delivery by pushing its next attempt past ``lease``."""
        raise NotImplementedError

    def claim_urgent(self, now: datetime, lease: timedelta) -> dict[str, Any] | None:
        """Claim an urgent delivery due now, for the urgent lane's sender (``dispatch_urgent``);
        ``None`` when none is. Here: the most urgent due one, as ``claim_due`` claims it."""
        due = {**_due(now), "priority_rank": URGENT_RANK}
        for found in self.store.find(due, sort=claim_order(), limit=1):
            return self.store.save({**found, "next_attempt_at": now + lease})
        return None

    def send_here(self, lease: timedelta) -> None:
        """This process sends what it stores (see ``MongoDeliveries``); nothing to do here."""


class MongoDeliveries(Deliveries):
    """Deliveries, with a queue that holds only the pending ones (``delivery_queue``).

    The timer reads the queue, never the deliveries, so a year of sent messages does not slow
    the next one. A queue entry is written before its delivery (like an outbox intent): an
    entry whose delivery never got written, or is settled already, is dropped when claimed.
    """

    def __init__(self, storage: Storage, collection: str) -> None:
        super().__init__(
            storage.documents(collection, "delivery"),
            storage.sequences(),
            MongoSendJournal(storage.db[JOURNAL], storage.deferred),
        )
        self.storage = storage
        self.collection = storage.db[collection]
        self.queue = storage.db[QUEUE]
        self._candidates: list[dict[str, Any]] = []  # due entries read, not yet claimed
        self._urgent_at = 0.0
        # Deliveries this process made due at once and claimed as it stored them (see
        # ``send_here``): the sender takes them from memory, with no claim and no read.
        self._ready: list[tuple[datetime, dict[str, Any]]] = []
        self._ready_lock = threading.Lock()
        self._lease: timedelta | None = None

    def send_here(self, lease: timedelta) -> None:
        """This process sends (its worker's timer does): a delivery due at once that it stores
        is claimed in the same write (its queue entry leased for ``lease``) and handed to its
        sender in memory. A process that dies first leaves a lease that runs out, and the
        delivery is claimed from the queue as any other."""
        self._lease = lease

    def add_many(self, deliveries: list[dict[str, Any]]) -> set[str]:
        """Queue entries first (as ``add`` does), then the deliveries: two bulk writes. An entry
        or a delivery stored before (a redelivered event) is left as it is."""
        if not deliveries:
            return set()
        listing.place_many(deliveries, self.sequences, delivery_lanes)
        pending = [d for d in deliveries if d["status"] == DeliveryStatus.PENDING]
        # (a scheduled one waits in the schedule)
        with self._ready_lock:
            room = READY_MAX - len(self._ready) if self._lease is not None else 0
        due = [d for d in pending if _due_at_once(d)] if self._lease is not None else []
        # Urgent ones always (few: a crisis page must not wait in the queue behind a backlog);
        # the others while there is room for the whole batch.
        at_once = {
            d["_id"] for d in due if room >= len(pending) or d["priority_rank"] == URGENT_RANK
        }
        entries = [
            {
                "_id": d["_id"],
                "priority_rank": d["priority_rank"],
                "next_attempt_at": (
                    aware(d["created_at"]) + self._lease
                    if d["_id"] in at_once and self._lease is not None
                    else d["next_attempt_at"]
                ),
                "queued_at": d.get("created_at"),
            }
            for d in pending
        ]
        if entries:
            try:
                self.queue.insert_many(entries, ordered=False)
            except BulkWriteError as exc:
                if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
                    raise
                at_once -= {entries[e["index"]]["_id"] for e in exc.details["writeErrors"]}
        created = self.store.insert_many(deliveries)
        claimed = [
            (entry["next_attempt_at"], {**d, REVISION: 0})
            for entry, d in zip(entries, pending, strict=True)
            if d["_id"] in at_once and d["_id"] in created
        ]
        if claimed:
            with self._ready_lock:
                self._ready.extend(claimed)
                self._ready.sort(key=lambda item: item[1]["priority_rank"])  # urgent first
        self._wake_for(deliveries, created)
        return created

    def _take_ready(self, now: datetime, urgent: bool = False) -> dict[str, Any] | None:
        """The most urgent delivery handed over in memory whose lease still has
        ``READY_MARGIN`` to run (one older is left to the queue: it may be claimed there);
        ``urgent``: an urgent one only."""
        with self._ready_lock:
            while self._ready and (not urgent or self._ready[0][1]["priority_rank"] == URGENT_RANK):
                leased_until, delivery = self._ready.pop(0)
                if now < leased_until - READY_MARGIN:
                    return {**delivery, "next_attempt_at": leased_until}
        return None

    def claim_urgent(self, now: datetime, lease: timedelta) -> dict[str, Any] | None:
        """An urgent delivery this process stored due at once and handed over in memory
        (``send_here``): no read, no claim write. Urgent retries and urgent deliveries another
        process stored are claimed from the queue by ``claim_due``, urgent first."""
        return self._take_ready(now, urgent=True)

    def save(self, delivery: dict[str, Any], events: Iterable[Event] = ()) -> dict[str, Any]:
        stored = super().save(delivery, events)
        self._requeue(stored)
        return stored

    def save_many(self, changes):
        results = super().save_many(changes)
        for stored in results:
            if stored is not None:
                self._requeue(stored)
        return results

    def _requeue(self, stored: dict[str, Any]) -> None:
        if stored["status"] == DeliveryStatus.PENDING:
            self._enqueue(stored)
        else:  # settled: its entry goes with others a moment later (its lease keeps it unclaimed)
            self.storage.deferred.add(self.queue, stored["_id"])  # index: _id

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
        ready = self._take_ready(now)
        if ready is not None and ready["priority_rank"] != URGENT_RANK:
            urgent = self._urgent_entry(now)
            if urgent is None:
                return ready
            with self._ready_lock:  # an urgent one is due in the queue: it goes first
                self._ready.insert(0, (ready["next_attempt_at"], ready))
            if self.storage.write_lock:  # FerretDB claims from the candidates
                self._candidates.insert(0, urgent)
        elif ready is not None:
            return ready
        while True:
            # Index ``due`` (priority_rank, next_attempt_at) on the queue: pending work only,
            # urgent first, so an alert arriving mid-batch goes next.
            entry = self._claim_entry(now, lease)
            if entry is None:
                return None
            delivery = self.collection.find_one({"_id": entry["_id"]})  # index: _id
            if delivery is not None and delivery["status"] == DeliveryStatus.PENDING:
                # The claim is the queue entry's: the delivery itself is written once, when
                # its attempt is recorded (a guarded save: a change made meanwhile wins).
                return {**delivery, "next_attempt_at": now + lease}
            if delivery is None and now - aware(entry.get("queued_at") or now) < ORPHAN_GRACE:
                continue  # its delivery may still be being written: the lease brings it back
            self.queue.delete_one({"_id": entry["_id"]})  # settled, or never written

    def oldest_urgent_waiting(self) -> datetime | None:
        """When the oldest urgent delivery not sent yet (waiting or retrying) was made. Index
        ``due``: equality on the rank, so only the urgent entries are read (a handful), each
        checked pending on its delivery (index ``_id``): a sent one's entry goes a moment later."""
        entries = self.queue.find({"priority_rank": URGENT_RANK}, {"queued_at": 1})
        for entry in sorted(entries, key=lambda e: aware(e.get("queued_at") or _FAR)):
            found = self.collection.find_one({"_id": entry["_id"]}, {"status": 1, "created_at": 1})
            if found is not None and found["status"] == DeliveryStatus.PENDING:
                return aware(found["created_at"])
        return None

    def _urgent_entry(self, now: datetime) -> dict[str, Any] | None:
        """The first urgent entry due in the queue, looked for at most every URGENT_EVERY_S
        (``None`` in between). Index ``due``: equality on the rank, so FerretDB decodes only
        the urgent entries."""
        if time.monotonic() - self._urgent_at < URGENT_EVERY_S:
            return None
        self._urgent_at = time.monotonic()
        due = {"priority_rank": URGENT_RANK, "next_attempt_at": {"$lte": now}}
        return next(iter(self.queue.find(due, sort=claim_order(), limit=1)), None)

    def _claim_entry(self, now: datetime, lease: timedelta) -> dict[str, Any] | None:
        due = {"next_attempt_at": {"$lte": now}}
        if not self.storage.write_lock:
            return self.queue.find_one_and_update(
                due,
                {"$set": {"next_attempt_at": now + lease}},
                sort=claim_order(),
                return_document=ReturnDocument.AFTER,
            )
        # FerretDB: the sorted read of the due entries decodes the whole queue (it pushes no
        # range, sort or limit down), so one read yields the next CANDIDATES claims; an urgent
        # entry that fell due meanwhile (equality on its rank: only urgent entries decoded,
        # looked for every URGENT_EVERY_S while candidates last) still goes first.
        urgent = self._urgent_entry(now) if self._candidates else None
        if urgent is not None and self._candidates[0]["_id"] != urgent["_id"]:
            self._candidates.insert(0, urgent)
        if not self._candidates:
            self._urgent_at = time.monotonic()
            self._candidates = list(self.queue.find(due, sort=claim_order(), limit=CANDIDATES))
        while self._candidates:
            entry = self._candidates.pop(0)
            # FerretDB's find-and-modify is not atomic. An entry's due moment names the claim:
            # of the workers that read it due at that moment, the one that takes the lock of
            # that moment claims it (the others skip it), and the update that moves it on is
            # guarded by the moment as read (a claim from a stale read matches nothing).
            due_at = entry["next_attempt_at"]
            lock = self.storage.lock(f"{QUEUE}/{entry['_id']}@{due_at.isoformat()}")
            if not lock.try_acquire():
                continue  # claimed by another worker meanwhile
            try:
                moved = self.queue.update_one(
                    {"_id": entry["_id"], "next_attempt_at": due_at},
                    {"$set": {"next_attempt_at": now + lease}},
                )
            except BaseException:
                lock.release()
                raise
            lock.release_later()  # that moment is past: no claim wants its lock again
            if moved.matched_count == 1:
                return {**entry, "next_attempt_at": now + lease}
        return None


class InMemoryDeliveries(Deliveries):
    def __init__(self) -> None:
        super().__init__(
            InMemoryDocumentStore("delivery"), listing.InMemorySequences(), InMemorySendJournal()
        )

    def oldest_urgent_waiting(self) -> datetime | None:
        urgent = {"status": DeliveryStatus.PENDING, "priority_rank": URGENT_RANK}
        found = self.store.find(urgent, sort=[("created_at", 1)], limit=1)
        return aware(found[0]["created_at"]) if found else None

    def claim_due(self, now: datetime, lease: timedelta) -> dict[str, Any] | None:
        for due in self.store.find(_due(now), sort=claim_order(), limit=1):
            return self.store.save({**due, "next_attempt_at": now + lease})
        return None
