"""Two parts of the repository in a module of their own: the schedule (deliveries due later,
by the minute they fall due) and the sites' time zones (the site directory's read model)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.database import Database

from dbt_shared import site_directory
from dbt_shared.clock import aware
from dbt_shared.remembered import Remembered
from dbt_shared.storage.documents import DocumentStore

SLOT_SECONDS = 60
CURSOR_ID = "~cursor"


def slot_of(moment: datetime) -> int:
    return int(aware(moment).timestamp()) // SLOT_SECONDS


class Schedule:
    """Scheduled deliveries (reminders) by the minute they fall due: the timer reads the slots
    that have come since it last looked, one equality query each (index ``slot``), so a year
    of reminders, sent or waiting, costs it nothing."""

    def __init__(self, store: DocumentStore) -> None:
        self.store = store

    def put(self, delivery_id: str, due_at: datetime) -> None:
        entry = {"_id": delivery_id, "slot": slot_of(due_at), "due_at": due_at}
        current = self.store.get(delivery_id)
        if current is None:
            self.store.insert(entry)
        else:
            self.store.save({**current, **entry})

    def remove(self, delivery_id: str) -> None:
        self.store.delete(delivery_id)

    def in_slot(self, slot: int) -> list[dict[str, Any]]:
        return self.store.find({"slot": slot})  # index: slot

    def done(self) -> int | None:
        cursor = self.store.get(CURSOR_ID)
        return int(cursor["done"]) if cursor else None

    def mark_done(self, slot: int) -> None:
        current = self.store.get(CURSOR_ID)
        if current is None:
            self.store.insert({"_id": CURSOR_ID, "done": slot})
        elif int(current["done"]) < slot:
            self.store.save({**current, "done": slot})


# -- the sites' time zones (the site directory that dbt_shared keeps) ----------------------------
class SiteTimeZones:
    """The time zone of each site this service has learned of (``None`` until it has)."""

    def timezone_of(self, site_id: str) -> str | None:
        raise NotImplementedError

    def site_ids(self) -> list[str]:
        """Every site learned of, in id order (the site directory: one document per site)."""
        raise NotImplementedError


class MongoSiteTimeZones(SiteTimeZones):
    """A site's zone is remembered for ``ZONE_TTL_S`` once known (a burst of deliveries for one
    site reads it once; a moved site's zone is used within a minute)."""

    ZONE_TTL_S = 60.0

    def __init__(self, db: Database) -> None:
        self.collection = db[site_directory.COLLECTION]
        # a site not learned of yet: asked again; in steady use, read again in the background
        self._zones = Remembered(self.ZONE_TTL_S, keep=bool, refresh_after_s=self.ZONE_TTL_S / 2)

    def timezone_of(self, site_id: str) -> str | None:
        return self._zones.get(site_id, lambda: self._read(site_id))

    def site_ids(self) -> list[str]:
        return [s["_id"] for s in self.collection.find({}, {"_id": 1}, sort=[("_id", 1)])]

    def _read(self, site_id: str) -> str | None:
        site = self.collection.find_one({"_id": site_id}, {"timezone": 1})  # index: _id
        return site.get("timezone") if site else None


class InMemorySiteTimeZones(SiteTimeZones):
    def __init__(self, zones: dict[str, str] | None = None) -> None:
        self.zones = dict(zones or {})

    def timezone_of(self, site_id: str) -> str | None:
        return self.zones.get(site_id)

    def site_ids(self) -> list[str]:
        return sorted(self.zones)
