"""The in-memory store projects as MongoDB does: one field excluded hides that field only, the
ids alone only when asked for them."""

from __future__ import annotations

from dbt_shared.storage.memory_documents import InMemoryDocumentStore


def test_a_one_field_exclusion_hides_that_field_only():
    store = InMemoryDocumentStore("thing")
    store.insert({"_id": "a", "name": "Tuesday", "_outbox": []})
    assert store.find({}, {"_outbox": 0}) == [{"_id": "a", "name": "Tuesday", "_rev": 0}]
    assert store.find({}, {"_id": 1}) == [{"_id": "a"}]
    assert store.find({}, {"_id": 0, "_outbox": 0}) == [{"name": "Tuesday", "_rev": 0}]
