"""Audit records: who touched which client-data object, when, how, from where. Never the data.

A use case records through an ``AuditLog`` with the acting ``Principal`` (the api's caller, or
the service itself in a handler or timer): ``MongoAuditLog`` in the processes,
``InMemoryAuditLog`` in unit tests.
"""

from __future__ import annotations

from typing import Any, Protocol

from pymongo.database import Database

from dbt_shared import correlation
from dbt_shared.auth import Principal
from dbt_shared.clock import Clock
from dbt_shared.documents import DocumentStore, InMemoryDocumentStore, MongoDocumentStore
from dbt_shared.ids import new_id

AUDIT_COLLECTION = "audit_log"


def entry(
    clock: Clock,
    principal: Principal | None,
    *,
    action: str,
    object_type: str,
    object_id: str,
    site_id: str,
) -> dict[str, Any]:
    return {
        "_id": new_id(),
        "at": clock.now(),
        "actor": principal.subject if principal else None,
        "roles": sorted(principal.roles) if principal else [],
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "site_id": site_id,
        "request_id": correlation.current(),
        "remote_addr": principal.remote_addr if principal else None,
    }


class AuditLog(Protocol):
    trail: DocumentStore

    def record(
        self,
        principal: Principal | None,
        *,
        action: str,
        object_type: str,
        object_id: str,
        site_id: str,
    ) -> dict[str, Any]: ...


class _Recording:
    clock: Clock

    def record(self, principal, *, action, object_type, object_id, site_id):
        document = entry(
            self.clock,
            principal,
            action=action,
            object_type=object_type,
            object_id=object_id,
            site_id=site_id,
        )
        self._keep(document)
        return document

    def _keep(self, document: dict[str, Any]) -> None:
        raise NotImplementedError


class MongoAuditLog(_Recording):
    def __init__(self, db: Database, clock: Clock) -> None:
        self.collection = db[AUDIT_COLLECTION]
        self.trail = MongoDocumentStore(self.collection, "audit record")  # for reading it
        self.clock = clock

    def _keep(self, document):
        self.collection.insert_one(document)


class InMemoryAuditLog(_Recording):
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.trail = InMemoryDocumentStore("audit record")

    def _keep(self, document):
        self.trail.documents[document["_id"]] = document

    @property
    def entries(self) -> list[dict[str, Any]]:
        return list(self.trail.documents.values())

    def actions(self) -> list[str]:
        return [e["action"] for e in self.entries]


def ensure_indexes(db: Database) -> None:
    """The trail is read oldest first (``_id``), filtered by equality on one of these."""
    trail = db[AUDIT_COLLECTION]
    trail.create_index([("object_type", 1), ("object_id", 1)], name="object")
    trail.create_index("at", name="at")
    trail.create_index([("site_id", 1), ("_id", 1)], name="site")
    trail.create_index([("actor", 1), ("_id", 1)], name="actor")
    trail.create_index([("action", 1), ("_id", 1)], name="action")
