"""Notifications' storage: inbox items and deliveries behind small interfaces.

Both are built on ``storage.documents``: ``MongoDocumentStore`` in the processes (``mongo``),
``InMemoryDocumentStore`` in unit tests (``in_memory``). A delivery's outcome event is recorded
with the write that settles it (the store's outbox: the relay or the hand-off publishes it).
Every query below names the index that serves it on MongoDB 7.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pymongo.database import Database

from dbt_shared import audit, read_models
from dbt_shared.audit import AuditLog, InMemoryAuditLog, MongoAuditLog
from dbt_shared.clock import Clock, SystemClock
from dbt_shared.errors import StaleWrite
from dbt_shared.events import outbox
from dbt_shared.remembered import Remembered
from dbt_shared.storage import listing, tallies
from dbt_shared.storage.context import Storage
from dbt_shared.storage.documents import DocumentStore
from dbt_shared.storage.memory_documents import InMemoryDocumentStore
from dbt_shared.storage.tallies import ChangedSites, InMemoryTallies, Tallies
from notifications.delivery_store import QUEUE, Deliveries, InMemoryDeliveries, MongoDeliveries
from notifications.domain.purposes import PRIORITY_RANKS
from notifications.schedule import (
    InMemorySiteTimeZones,
    MongoSiteTimeZones,
    Schedule,
    SiteTimeZones,
)
from notifications.send_journal import JOURNAL

INBOX = "inbox_items"
DELIVERIES = "deliveries"
PREFERENCES = "preferences"  # per recipient (client or clinician id): channels, quiet hours
OPT_OUTS = "sms_opt_outs"  # per number key (a salted hash, never the number): STOP received
INBOUND_SMS = "sms_inbound"  # per provider MessageSid: an inbound message handled (once)
SETTINGS = "site_settings"  # per site: the SMS window, reminder offsets
SCHEDULE = "delivery_schedule"  # scheduled deliveries by the minute they fall due
ENROLLMENTS = "enrollments"  # read model of skills-group's: who attends which group from when
CLINICIANS = read_models.CLINICIANS  # intake's clinicians (dbt_shared.read_models)

SETTINGS_TTL_S = 60.0  # how long the sender keeps a site's settings

OUTBOX_COLLECTIONS = [DELIVERIES]


def ensure_indexes(db: Database) -> None:
    outbox.ensure_indexes(db)
    audit.ensure_indexes(db)
    db[INBOX].create_index(
        [("site_id", 1), ("priority_rank", 1), ("bucket", 1), ("_id", 1)], name="site_inbox"
    )
    db[QUEUE].create_index([("priority_rank", 1), ("next_attempt_at", 1)], name="due")
    # the send journal: a re-claimed attempt's outcome, carried by its sender's next entry
    db[JOURNAL].create_index("outcome_of", name="outcome_of")
    db[INBOX].create_index([("recipient_id", 1), ("me_bucket", 1), ("_id", 1)], name="my_inbox")
    # a site's unread items, for the recount of its unread tally (equality, not the history)
    db[INBOX].create_index([("site_id", 1), ("unread", 1)], name="site_unread")
    # a site's items stored or read in an hour (which sites the hourly recount looks at)
    db[INBOX].create_index([(tallies.CHANGED_FIELD, 1), ("site_id", 1)], name="changed")
    # a site's deliveries failed for good on one day (the overview's list behind its figure)
    db[FAILED].create_index([("site_id", 1), ("day", 1)], name="site_day")
    tallies.ensure_indexes(db)
    db[DELIVERIES].create_index(
        [("site_id", 1), ("site_bucket", 1), ("_id", 1)], name="site_deliveries"
    )
    db[DELIVERIES].create_index(
        [("recipient_id", 1), ("recipient_bucket", 1), ("_id", 1)], name="recipient_deliveries"
    )
    db[DELIVERIES].create_index(
        [("site_id", 1), ("purpose", 1), ("site_purpose_bucket", 1), ("_id", 1)],
        name="site_purpose_deliveries",
    )
    db[DELIVERIES].create_index([("session_id", 1), ("status", 1)], name="session_status")
    db[DELIVERIES].create_index([("recipient_id", 1), ("status", 1)], name="recipient_status")
    db[ENROLLMENTS].create_index("status", name="status")
    db[ENROLLMENTS].create_index("client_id", name="client")
    read_models.ensure_indexes(db)  # the clinicians' site and subject
    db[SCHEDULE].create_index("slot", name="slot")
    db[ENROLLMENTS].create_index([("group_id", 1), ("status", 1)], name="group_status")


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


def unread_tally(site_id: str) -> str:
    """The tally of a site inbox's unread items (``n``), kept with each item stored and read."""
    return f"inbox:unread:{site_id}"


class InboxItems:
    """The sites' inboxes, on any ``DocumentStore``: one bucketed list per site and priority
    (``storage.listing``), urgent first, each oldest first; and each site's unread count, a
    tally adjusted by the writes that store and read items (no count over the history)."""

    def __init__(
        self, store: DocumentStore, sequences: listing.Sequences, tallies: Tallies, clock: Clock
    ) -> None:
        self.store = store
        self.sequences = sequences
        self.tallies = tallies
        self.clock = clock
        self.changed_sites = ChangedSites(store, clock)  # the hourly recount's sites

    def add_many(self, items: list[dict[str, Any]]) -> set[str]:
        """Store new items, unread: one ``take_many`` per site and priority, one bulk insert;
        answers the ids stored now (an item stored before, by an earlier delivery of its event,
        is left as it is, and counted once)."""
        changed = tallies.changed_stamp(self.clock.now())  # the recount looks at changed sites
        for item in items:
            if not item.get("recipient_id"):  # a site's item, unread until someone marks it
                item.setdefault("unread", True)
                item.update(changed)
        listing.place_many(items, self.sequences, _inbox_lanes)
        stored = self.store.insert_many(items)
        unread: dict[str, int] = {}
        for item in items:
            if item["_id"] in stored and not item.get("recipient_id"):  # a site's item
                unread[item["site_id"]] = unread.get(item["site_id"], 0) + 1
        for site_id, n in unread.items():
            self.tallies.adjust(unread_tally(site_id), {"n": n}, site_id=site_id, kind="unread")
        return stored

    def mark_read(
        self, site_id: str, item_id: str, by: str, now: datetime
    ) -> dict[str, Any] | None:
        """Mark one of the site's items read (``None``: no such item of the site's). The
        guarded save lets one of two people marking it at once count it: the other finds it
        read already."""
        for _ in range(3):
            item = self.store.get(item_id)  # index: _id
            if item is None or item.get("site_id") != site_id or item.get("recipient_id"):
                return None
            if not item.get("unread"):  # read already
                return item
            try:
                read = {"unread": False, "read_at": now, "read_by": by}
                stored = self.store.save({**item, **read, **tallies.changed_stamp(now)})
            except StaleWrite:
                continue  # changed meanwhile: look again
            self.tallies.adjust(unread_tally(site_id), {"n": -1}, site_id=site_id, kind="unread")
            self.tallies.settle()  # the inbox reloaded next shows the count without this item
            return stored
        raise StaleWrite("inbox item")

    def unread(self, site_id: str) -> int:
        """The site's unread items: its tally (index ``key``), never a count of the inbox."""
        return max(0, int(self.tallies.get(unread_tally(site_id)).get("n", 0)))

    def unread_by_site(self) -> dict[str, int]:
        """Every site's unread items: one read of the unread tallies, not one per site."""
        return {s: max(0, n) for s, n in tallies.by_site(self.tallies, {"kind": "unread"}).items()}

    def recount_changed_sites(self) -> set[str]:
        """Recount the unread tallies of the sites with an item stored or read since the
        recount before (``ChangedSites``, index ``changed``); answers the sites."""
        return self.changed_sites.recount(self.recount_unread)

    def recount_unread(self, site_id: str) -> int:
        """Recount a site's unread items from the inbox (the slow timer): a tally a killed
        process left off is exact again. Index ``site_unread`` (site_id, unread): equality on
        the site's unread items only, not its history."""

        def count() -> dict[str, int]:
            return {"n": self.store.count({"site_id": site_id, "unread": True})}

        return self.tallies.reconcile(unread_tally(site_id), count, site_id=site_id, kind="unread")[
            "n"
        ]

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


# -- per-site figures for the operators' overview ------------------------------------------------
FAILED = "failed_deliveries"  # per delivery failed for good: what it was, never its content


def failure_record(delivery: dict[str, Any], at: datetime) -> dict[str, Any]:
    return {
        "_id": delivery["_id"],
        "site_id": delivery["site_id"],
        "day": at.astimezone(UTC).date().isoformat(),
        "failed_at": at,
        "purpose": delivery.get("purpose"),
        "channel": delivery.get("channel"),
        "recipient_kind": delivery.get("recipient_kind"),
        "recipient_id": delivery.get("recipient_id"),
        "attempts": len(delivery.get("attempts_log") or []),
    }


def failed_tally(site_id: str, day: date) -> str:
    """The tally of a site's deliveries that failed for good on one (UTC) day (``n``)."""
    return f"deliveries:failed:{site_id}:{day.isoformat()}"


class SiteFigures:
    """Figures of a site kept as they change (``tallies``), so that an overview reads a few
    documents by key, never a count over the deliveries' history."""

    def __init__(self, tallies: Tallies, failures: DocumentStore | None = None) -> None:
        self.tallies = tallies
        self.failures = failures  # one small record per failed delivery: the list behind it

    def count_failed(self, site_id: str, at: datetime, delivery: dict | None = None) -> None:
        day = at.astimezone(UTC).date()
        tags = {"site_id": site_id, "kind": "failed", "day": day.isoformat()}  # day: kind_day
        self.tallies.adjust(failed_tally(site_id, day), {"n": 1}, **tags)
        if delivery is not None and self.failures is not None:
            self.failures.insert_many([failure_record(delivery, at)])  # once per delivery

    def failed_on(self, site_id: str, day: date) -> list[dict[str, Any]]:
        """The site's deliveries that failed for good on one (UTC) day: index ``site_day``
        (site_id, day), equality on one day's few records, never the deliveries' history."""
        if self.failures is None:
            return []
        return self.failures.find({"site_id": site_id, "day": day.isoformat()}, sort=[("_id", 1)])

    def failed_in_days_by_site(self, today: date, days: int) -> dict[str, int]:
        """Every site's ``failed_in_days``: one read per day for all sites."""
        return tallies.by_site_in_days(self.tallies, "failed", today, days)

    def failed_in_days(self, site_id: str, today: date, days: int) -> int:
        """Deliveries that failed for good on ``today`` and the ``days - 1`` days before it:
        one read per day (index ``key``)."""
        return sum(
            int(self.tallies.get(failed_tally(site_id, today - timedelta(days=n))).get("n", 0))
            for n in range(days)
        )


# -- all of them ---------------------------------------------------------------------------------
@dataclass
class Repositories:
    inbox: InboxItems
    deliveries: Deliveries
    site_zones: SiteTimeZones
    preferences: DocumentStore
    opt_outs: DocumentStore
    inbound_sms: DocumentStore
    """The provider's inbound messages handled, by ``MessageSid`` (read by _id only; kept: a
    signed request can be replayed whenever, and one SMS is a few bytes here)."""
    audit: AuditLog
    """Who read or changed a person's notification data (inboxes, deliveries, preferences)."""
    settings: DocumentStore
    schedule: Schedule
    enrollments: DocumentStore
    clinicians: read_models.Clinicians
    figures: SiteFigures
    settings_ttl_s: float = 0.0
    _settings_seen: Remembered = field(init=False)

    def __post_init__(self) -> None:
        self._settings_seen = Remembered(
            self.settings_ttl_s, refresh_after_s=self.settings_ttl_s / 2
        )  # a site's sends in steady use never wait on a read of its settings

    def enrolled(self, group_id: str) -> list[dict[str, Any]]:
        # index: group_status (group_id, status): a group's members now
        return self.enrollments.find({"group_id": group_id, "status": "active"})

    def enrollments_of(self, client_id: str) -> list[dict[str, Any]]:
        return self.enrollments.find({"client_id": client_id})  # index: client

    def site_settings(self, site_id: str) -> dict[str, Any]:
        """A site's notification settings as the sender uses them: remembered for
        ``settings_ttl_s`` (a burst of deliveries reads them once; a change applies within
        that time), read each time where it is 0 (unit tests)."""
        return self._settings_seen.get(site_id, lambda: self.settings.get(site_id) or {})  # _id


def mongo(storage: Storage, clock: Clock | None = None) -> Repositories:
    return Repositories(
        # The inboxes and the delivery lists have no head: their numbers come in blocks.
        inbox=InboxItems(
            storage.documents(INBOX, "inbox item"),
            storage.sequences(),
            storage.tallies(),
            clock or SystemClock(),
        ),
        deliveries=MongoDeliveries(storage, DELIVERIES),
        site_zones=MongoSiteTimeZones(storage.db),
        preferences=storage.documents(PREFERENCES, "preferences"),
        opt_outs=storage.documents(OPT_OUTS, "opt-out"),
        inbound_sms=storage.documents(INBOUND_SMS, "inbound SMS"),
        audit=MongoAuditLog(storage, clock or SystemClock()),
        settings=storage.documents(SETTINGS, "site settings"),
        schedule=Schedule(storage.documents(SCHEDULE, "schedule entry")),
        enrollments=storage.documents(ENROLLMENTS, "enrollment"),
        clinicians=read_models.Clinicians(storage.documents(CLINICIANS, "clinician")),
        figures=SiteFigures(storage.tallies(), storage.documents(FAILED, "failed delivery")),
        settings_ttl_s=SETTINGS_TTL_S,
    )


def in_memory(clock: Clock | None = None) -> Repositories:
    return Repositories(
        inbox=InboxItems(
            InMemoryDocumentStore("inbox item"),
            listing.InMemorySequences(),
            InMemoryTallies(),
            clock or SystemClock(),
        ),
        deliveries=InMemoryDeliveries(),
        site_zones=InMemorySiteTimeZones(),
        preferences=InMemoryDocumentStore("preferences"),
        opt_outs=InMemoryDocumentStore("opt-out"),
        inbound_sms=InMemoryDocumentStore("inbound SMS"),
        audit=InMemoryAuditLog(clock or SystemClock()),
        settings=InMemoryDocumentStore("site settings"),
        schedule=Schedule(InMemoryDocumentStore("schedule entry")),
        enrollments=InMemoryDocumentStore("enrollment"),
        clinicians=read_models.Clinicians(InMemoryDocumentStore("clinician")),
        figures=SiteFigures(InMemoryTallies(), InMemoryDocumentStore("failed delivery")),
    )
