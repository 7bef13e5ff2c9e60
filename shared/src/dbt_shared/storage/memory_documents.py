"""``InMemoryDocumentStore``: the ``DocumentStore`` contract in a dict, for unit tests of the
service layer. It understands the query operators the repositories use (equality, ``$in``,
``$gt``/``$gte``/``$lt``/``$lte``, ``$ne``, ``$and``, ``$or``, dotted paths) and keeps the events
recorded with each write."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable
from typing import Any

from dbt_shared.errors import Duplicate, StaleWrite
from dbt_shared.events import outbox
from dbt_shared.events.envelope import Event
from dbt_shared.storage.documents import _BOOKKEEPING, REVISION, Sort, _utc_if_datetime, state_of


def _values_at(document: Any, path: str) -> list[Any]:
    """Every value at a dotted ``path`` (lists are looked into, as MongoDB does)."""
    current = [document]
    for part in path.split("."):
        found = []
        for value in current:
            if isinstance(value, dict) and part in value:
                found.append(value[part])
            elif isinstance(value, list):
                found.extend(v[part] for v in value if isinstance(v, dict) and part in v)
        current = found
    flat: list[Any] = []
    for value in current:
        flat.extend(value if isinstance(value, list) else [value])
        if isinstance(value, list):
            flat.append(value)
    return [_utc_if_datetime(v) for v in flat]


def _compare(values: list[Any], op: str, operand: Any) -> bool:
    operand = _utc_if_datetime(operand)
    if op == "$in":
        return any(v in operand for v in values) or (not values and None in operand)
    if op == "$nin":
        return not _compare(values, "$in", operand)
    if op == "$ne":
        return operand not in values
    if op == "$exists":
        return bool(values) == bool(operand)
    checks = {
        "$gt": lambda v: v > operand,
        "$gte": lambda v: v >= operand,
        "$lt": lambda v: v < operand,
        "$lte": lambda v: v <= operand,
    }
    if op not in checks:
        raise NotImplementedError(f"query operator {op} is not supported in memory")
    return any(v is not None and type(v) is type(operand) and checks[op](v) for v in values)


def matches(document: dict[str, Any], query: dict[str, Any]) -> bool:
    for key, condition in query.items():
        if key == "$and":
            if not all(matches(document, q) for q in condition):
                return False
            continue
        if key == "$or":
            if not any(matches(document, q) for q in condition):
                return False
            continue
        values = _values_at(document, key)
        if isinstance(condition, dict) and condition and all(k.startswith("$") for k in condition):
            if not all(_compare(values, op, operand) for op, operand in condition.items()):
                return False
        elif condition is None:
            if values and any(v is not None for v in values):
                return False
        elif _utc_if_datetime(condition) not in values:
            return False
    return True


def _project(document: dict[str, Any], projection: dict[str, Any] | None) -> dict[str, Any]:
    if not projection:
        return document
    if any(v for k, v in projection.items() if k != "_id"):  # an inclusion projection
        kept = {k: document[k] for k, v in projection.items() if v and k in document}
        if projection.get("_id", 1):
            kept["_id"] = document["_id"]
        return kept
    if projection == {"_id": 1}:  # the ids alone ({"_outbox": 0} hides one field, as MongoDB)
        return {"_id": document["_id"]}
    return {k: v for k, v in document.items() if projection.get(k, 1)}


def _sort_key(sort: Sort):
    def key(document: dict[str, Any]):
        parts = []
        for path, _direction in sort:
            values = _values_at(document, path)
            parts.append(values[0] if values else None)
        return parts

    return key


class InMemoryDocumentStore:
    """A ``DocumentStore`` in a dict; ``events`` lists every event recorded with a write."""

    def __init__(self, what: str = "object", unique: Iterable[tuple[str, ...]] = ()) -> None:
        self.what = what
        self.unique = [tuple(fields) for fields in unique]
        self.documents: dict[str, dict[str, Any]] = {}
        self.events: list[Event] = []
        self._lock = threading.Lock()

    def get(self, document_id):
        found = self.documents.get(document_id)
        return copy.deepcopy(found) if found is not None else None

    def find(self, query, projection=None, sort=None, limit=0):
        found = [d for d in self.documents.values() if matches(d, query)]
        for path, direction in reversed(sort or []):
            found.sort(key=_sort_key([(path, direction)]), reverse=direction < 0)
        if limit:
            found = found[:limit]
        return [copy.deepcopy(_project(d, projection)) for d in found]

    def find_ids(self, ids, projection=None):
        found = [self.documents.get(i) for i in dict.fromkeys(ids)]
        return [copy.deepcopy(_project(d, projection)) for d in found if d is not None]

    def count(self, query, limit=0):
        found = sum(1 for d in self.documents.values() if matches(d, query))
        return min(found, limit) if limit else found

    def _violates_unique(self, document: dict[str, Any]) -> bool:
        for fields in self.unique:
            key = tuple(document.get(f) for f in fields)
            for other in self.documents.values():
                if other["_id"] != document["_id"] and tuple(other.get(f) for f in fields) == key:
                    return True
        return False

    def insert(self, document, events=()):
        with self._lock:
            existing = self.documents.get(document["_id"])
            if existing is not None:
                return copy.deepcopy(existing), False
            if self._violates_unique(document):
                raise Duplicate(self.what)
            events = list(events)
            stored = outbox.new_document_with_events({**document, REVISION: 0}, events)
            self.documents[document["_id"]] = copy.deepcopy(stored)
            self.events.extend(events)
            return copy.deepcopy(stored), True

    def insert_many(self, documents):
        return {d["_id"] for d in documents if self.insert(d)[1]}

    def delete(self, document_id):
        with self._lock:
            return self.documents.pop(document_id, None) is not None

    def save(self, document, events=()):
        with self._lock:
            current = self.documents.get(document["_id"])
            if current is None or current.get(REVISION, 0) != document.get(REVISION, 0):
                raise StaleWrite(self.what)
            events = list(events)
            stored = {
                **{k: v for k, v in current.items() if k in _BOOKKEEPING},
                **copy.deepcopy(state_of(document)),
                "_id": document["_id"],
                REVISION: current.get(REVISION, 0) + 1,
            }
            if events:
                stored[outbox.OUTBOX_FIELD] = [
                    *current.get(outbox.OUTBOX_FIELD, []),
                    *(e.to_document() for e in events),
                ]
            self.documents[document["_id"]] = stored
            self.events.extend(events)
            return copy.deepcopy(stored)

    def save_many(self, changes):
        changes = [(document, list(events)) for document, events in changes]
        if len({d["_id"] for d, _events in changes}) != len(changes):
            raise ValueError("save_many takes one change per document")
        results = []
        for document, events in changes:
            try:
                results.append(self.save(document, events))
            except StaleWrite:
                results.append(None)
        return results
