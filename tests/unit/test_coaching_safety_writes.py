"""Coaching's safety writes: a self-harm mark or a card's safety state lands or the request fails
loudly (503 problem+json, nothing written), and the audit record of a write of health data is
there before the write."""

from __future__ import annotations

import pytest
from test_coaching_api import NOW, as_client, as_clinician, seed

from coaching.app import create_app
from coaching.services.common import safety_of
from dbt_shared.clock import FixedClock
from dbt_shared.errors import StaleWrite
from dbt_shared.storage.memory_documents import InMemoryDocumentStore

SELF_HARM_CARD = {
    "date": "2026-03-03",
    "urges": [{"target": "self_harm", "rating": 4, "acted": True}],
    "distress": 7,
}


class AlwaysConflicting(InMemoryDocumentStore):
    """A client store where another writer always got there first (a hot document)."""

    def __init__(self, inner: InMemoryDocumentStore) -> None:
        super().__init__(inner.what)
        self.documents = inner.documents
        self.tries = 0

    def save(self, document, events=()):
        self.tries += 1
        raise StaleWrite(self.what)


class AuditedFirst(InMemoryDocumentStore):
    """A client store that notes the audit trail's actions at the moment of each write."""

    def __init__(self, inner: InMemoryDocumentStore, audit) -> None:
        super().__init__(inner.what)
        self.documents = inner.documents
        self.audit = audit
        self.seen: list[list[str]] = []

    def save(self, document, events=()):
        self.seen.append(self.audit.actions())
        return super().save(document, events)


@pytest.fixture
def components():
    return seed(FixedClock(NOW))


def test_a_self_harm_record_that_cannot_be_written_fails_loudly_not_200(api_env, auth, components):
    clients = AlwaysConflicting(components.repositories.clients)
    components.repositories.clients = clients
    api = create_app(components).test_client()
    answer = api.post(
        "/v1/clients/client-1/self-harm-records",
        json={"occurred_at": NOW.isoformat()},
        headers=as_clinician(auth, "tess"),
    )
    assert answer.status_code == 503, answer.json
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json["type"].endswith("/safety-write-failed")
    assert clients.tries > 1  # it tried again on the newer document, then gave up loudly
    assert safety_of(components, clients.get("client-1"))["self_harm_at"] is None
    # so the next request is not held by a record that was never made, and says so
    held = api.post("/v1/coaching-requests", json={"kind": "skills"}, headers=as_client(auth))
    assert held.json["status"] == "open"


def test_a_diary_card_whose_safety_state_cannot_be_written_fails_and_leaves_no_card(
    api_env, auth, components
):
    components.repositories.clients = AlwaysConflicting(components.repositories.clients)
    api = create_app(components).test_client()
    answer = api.post("/v1/diary-cards", json=SELF_HARM_CARD, headers=as_client(auth))
    assert answer.status_code == 503, answer.json
    assert components.repositories.cards.documents == {}  # nothing half done
    assert components.repositories.cards.events == []  # no risk alert for a card not stored


def test_the_self_harm_audit_record_is_written_before_the_self_harm_mark(api_env, auth, components):
    clients = AuditedFirst(components.repositories.clients, components.repositories.audit)
    components.repositories.clients = clients
    api = create_app(components).test_client()
    answer = api.post(
        "/v1/clients/client-1/self-harm-records",
        json={"occurred_at": NOW.isoformat()},
        headers=as_clinician(auth, "tess"),
    )
    assert answer.status_code == 201, answer.json
    assert clients.seen and "client.self_harm_record" in clients.seen[0]


def test_a_diary_cards_audit_record_is_written_before_its_safety_state(api_env, auth, components):
    clients = AuditedFirst(components.repositories.clients, components.repositories.audit)
    components.repositories.clients = clients
    api = create_app(components).test_client()
    answer = api.post("/v1/diary-cards", json=SELF_HARM_CARD, headers=as_client(auth))
    assert answer.status_code == 201, answer.json
    assert clients.seen and "diary_card.write" in clients.seen[0]
