"""The sender's send journal (``send_journal``): the attempts handed to a provider whose
outcome may not be written with their delivery yet (``notifications.services.dispatch``)."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from dbt_shared.storage.document_locks import DeferredDeletes

JOURNAL = "send_journal"  # one entry per attempt handed to a provider, by its send key


def send_key(delivery: dict[str, Any], attempt: int) -> str:
    """The key one attempt is sent under, the same when it is sent again after a crash: the
    SMS provider's ``Idempotency-Key``, the email's ``Message-ID``, its send journal entry."""
    return f"{delivery['_id']}.{attempt}"


class SendJournal:
    """The attempts handed to a provider, one entry each, written before the provider call and
    keyed by the attempt's send key (``<delivery id>.<attempt>``, the provider's idempotency
    key): one insert per message, while the deliveries themselves are written in batches.

    - An entry's unique ``_id`` says the attempt was begun: a worker that re-claims the delivery
      (its claimer stopped, or its lease ran out) finds the key taken and does not send as new.
    - An entry carries the outcome of the attempt its worker handed over before
      (``outcome_of``: that attempt's key, ``outcome``), whose delivery may not be written yet.
      So every message handed to a provider before the one in flight has its outcome stored:
      a worker that dies re-sends at most the one in flight, under the same key.
    - Once an attempt a sender began is written with its delivery, its entry is deleted (a
      moment later, with others). The entries a stopped sender left are not: one may carry the
      outcome of an attempt not re-claimed yet. They stay (a few per crash, read by key only).
    """

    def begin(
        self, key: str, since: datetime, previous: tuple[str, dict[str, Any]] | None = None
    ) -> bool:
        """Record the attempt ``key`` as begun (with the outcome of ``previous``); ``False``
        when it was begun before (by this delivery's earlier claimer)."""
        raise NotImplementedError

    def entry(self, key: str) -> dict[str, Any] | None:
        """The attempt ``key`` as begun, if it was."""
        raise NotImplementedError

    def outcome(self, key: str) -> dict[str, Any] | None:
        """The outcome of the attempt ``key`` as its worker carried it in its next entry;
        ``None`` when none did (it was in flight when its worker stopped)."""
        raise NotImplementedError

    def forget(self, keys: Iterable[str]) -> None:
        """The attempts whose outcome is written with their delivery: no one reads them again."""
        raise NotImplementedError

    @staticmethod
    def _entry(key, since, previous) -> dict[str, Any]:
        entry: dict[str, Any] = {"_id": key, "since": since}
        if previous is not None:
            entry["outcome_of"], entry["outcome"] = previous
        return entry


class MongoSendJournal(SendJournal):
    def __init__(self, collection: Collection, deferred: DeferredDeletes) -> None:
        self.collection = collection
        self.deferred = deferred  # the process's deletes made a moment later, together

    def begin(self, key, since, previous=None):
        try:
            self.collection.insert_one(self._entry(key, since, previous))
        except DuplicateKeyError:  # the unique _id: begun before
            return False
        return True

    def entry(self, key):
        return self.collection.find_one({"_id": key})  # index: _id

    def outcome(self, key):
        # index outcome_of (outcome_of): equality, at most one entry (a re-claim only)
        carried = self.collection.find_one({"outcome_of": key}, {"outcome": 1})
        return carried["outcome"] if carried else None

    def forget(self, keys):
        for key in keys:
            self.deferred.add(self.collection, key)  # index: _id, with others a moment later


class InMemorySendJournal(SendJournal):
    def __init__(self) -> None:
        self.entries: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def begin(self, key, since, previous=None):
        with self._lock:
            if key in self.entries:
                return False
            self.entries[key] = self._entry(key, since, previous)
            return True

    def entry(self, key):
        return self.entries.get(key)

    def outcome(self, key):
        carried = next((e for e in self.entries.values() if e.get("outcome_of") == key), None)
        return carried["outcome"] if carried else None

    def forget(self, keys):
        with self._lock:
            for key in keys:
                self.entries.pop(key, None)
