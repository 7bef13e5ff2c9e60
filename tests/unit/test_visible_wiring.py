"""Visible wiring (issue #23): what a process's writes share is built by its service's
``bootstrap`` and held on its ``Components`` (``storage``), never by a module. Two wirings in one
process (two tests, a bench's services, an api and a batch job) share nothing: one's tally
adjustments, deferred deletes, grouped inserts and broker are not another's, and no test resets
module state for the next one.

The database is a stand-in that keeps documents in dicts (what these writes need of pymongo).
"""

from __future__ import annotations

import base64
import os
import threading
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from pymongo.errors import BulkWriteError

from dbt_shared.clock import FixedClock
from dbt_shared.events.envelope import Event
from intake.bootstrap import bootstrap as intake_bootstrap
from skills_group.bootstrap import bootstrap as skills_bootstrap


class _Collection:
    def __init__(self, database: _Database, name: str) -> None:
        self.database, self.name = database, name
        self.documents: dict[str, dict] = {}
        self._lock = threading.Lock()

    def insert_many(self, documents, ordered=True):
        errors = []
        with self._lock:
            for index, document in enumerate(documents):
                if document["_id"] in self.documents:
                    errors.append({"index": index, "code": 11000, "errmsg": "duplicate key"})
                else:
                    self.documents[document["_id"]] = dict(document)
        if errors:
            raise BulkWriteError({"writeErrors": errors})

    def insert_one(self, document):
        self.insert_many([document])

    def update_one(self, query, update, upsert=False):
        with self._lock:
            document = self.documents.get(query["_id"])
            if document is None and upsert:
                document = self.documents[query["_id"]] = {"_id": query["_id"]}
            for field, n in update.get("$inc", {}).items():
                document[field] = document.get(field, 0) + n
            document.update(update.get("$set", {}))

    def find(self, query, projection=None):
        with self._lock:
            return [
                dict(d)
                for d in self.documents.values()
                if all(d.get(k) == v for k, v in query.items())
            ]

    def bulk_write(self, operations, ordered=True):
        with self._lock:  # DeleteOne by _id (mongo.delete_ids)
            deleted = [self.documents.pop(op._filter["_id"], None) for op in operations]
        return SimpleNamespace(deleted_count=sum(d is not None for d in deleted))

    def delete_many(self, query):  # the locks whose lease ran out long ago
        [(field, bound)] = query.items()
        with self._lock:
            for key in [k for k, d in self.documents.items() if d[field] < bound["$lt"]]:
                del self.documents[key]


class _Database:
    def __init__(self, name: str) -> None:
        self.name = name
        self.client = self
        self._collections: dict[str, _Collection] = {}

    def __getitem__(self, name: str) -> _Collection:
        return self._collections.setdefault(name, _Collection(self, name))


class _Publisher:
    def __init__(self) -> None:
        self.published: list[str] = []

    def publish(self, events, timeout_s: float = 30) -> None:
        self.published += [event.id for event in events]


@pytest.fixture
def env(monkeypatch):
    monkeypatch.setenv("MONGODB_WRITE_GUARD", "lock")  # FerretDB's guard: per-process tallies
    monkeypatch.setenv("FIELD_ENCRYPTION_KEY", base64.b64encode(os.urandom(32)).decode())


CLOCK = FixedClock(datetime(2026, 3, 3, 15, 0, tzinfo=UTC))


def _event(key: str) -> Event:
    return Event(type="thing.changed", source="tests", subject=key, key=key, data={})


def test_two_wirings_in_one_process_write_and_read_only_their_own_tally_adjustments(env):
    db = _Database("dbt_intake")
    first, second = intake_bootstrap(db, CLOCK), intake_bootstrap(db, CLOCK)
    first.repositories.tallies.adjust("waitlist:s1:adult", {"received": 1}, site_id="s1")

    second.storage.stop()  # another wiring stops (a test ends, a batch job exits)
    assert db["tallies"].documents == {}, "it wrote nothing of the first wiring's"
    assert second.repositories.tallies.get("waitlist:s1:adult") == {}  # nothing pending of its
    assert first.repositories.tallies.get("waitlist:s1:adult")["received"] == 1  # its own, yes

    first.storage.stop()  # the process that owns it writes it when it stops
    [written] = db["tallies"].documents.values()
    assert (written["key"], written["received"]) == ("waitlist:s1:adult", 1)
    assert second.repositories.tallies.get("waitlist:s1:adult")["received"] == 1  # as stored


def test_two_wirings_in_one_process_make_only_their_own_deferred_deletes(env):
    db = _Database("dbt_skills_group")
    first, second = skills_bootstrap(db, CLOCK), skills_bootstrap(db, CLOCK)
    lock = first.locks("group/g-1")  # a lock document, taken and left to go a moment later
    assert lock.try_acquire()
    lock.release_later()
    locks = db["document_locks"].documents

    second.storage.deferred.sweep()
    assert list(locks) == ["group/g-1"], "another wiring's sweep leaves it"
    first.storage.deferred.sweep()
    assert locks == {}


def test_a_wirings_events_go_to_its_own_broker_only(env):
    db = _Database("dbt_intake")
    connected, other = intake_bootstrap(db, CLOCK), intake_bootstrap(db, CLOCK)
    broker = _Publisher()
    connected.storage.hand_off.connect(lambda: broker)  # an api of this process, say
    things = connected.storage.documents("things"), other.storage.documents("things")

    mine, theirs = _event("a"), _event("b")
    things[0].insert({"_id": "a"}, [mine])
    things[1].insert({"_id": "b"}, [theirs])  # a wiring nothing connected: the relay sends
    connected.storage.flush()
    other.storage.flush()

    assert broker.published == [mine.id]
    assert list(db["outbox_intents"].documents) == [theirs.id], "left for the relay"


def test_each_wiring_groups_the_inserts_of_its_own_writers(env):
    db = _Database("dbt_intake")
    first, second = intake_bootstrap(db, CLOCK), intake_bootstrap(db, CLOCK)
    referrals = db["referrals"]
    assert first.storage.inserts.of(referrals) is first.storage.inserts.of(referrals)
    assert first.storage.inserts.of(referrals) is not second.storage.inserts.of(referrals)
