"""Audit records: who touched which client-data object, when, how, from where. Never the data.

A use case records through an ``AuditLog`` with the acting ``Principal`` (the api's caller, or
the service itself in a handler or timer): ``MongoAuditLog`` in the processes,
``InMemoryAuditLog`` in unit tests.
"""

from __future__ import annotations

from typing import Any, Protocol

from marshmallow import fields, validate
from pymongo.database import Database

from dbt_shared import correlation, group_inserts, http_fields, listing, pagination
from dbt_shared.auth import Principal
from dbt_shared.clock import Clock
from dbt_shared.documents import DocumentStore, MongoDocumentStore
from dbt_shared.ids import new_id
from dbt_shared.memory_documents import InMemoryDocumentStore

AUDIT_COLLECTION = "audit_log"
#: The filters of the trail, each an equality on the record.
FILTERS = ("site_id", "object_type", "object_id", "actor", "action")
ALL = "audit:all"
BACKFILLED = "audit:backfilled"


def site_key(site_id: str) -> str:
    return f"audit:site:{site_id}"


def lanes_of(document: dict[str, Any]) -> dict[str, str]:
    """The lists an audit record is in: the whole trail and its site's trail (a record written
    before records named their site is in the whole trail only)."""
    if not document.get("site_id"):
        return {"bucket": ALL}
    return {"bucket": ALL, "site_bucket": site_key(document["site_id"])}


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
    sequences: listing.Sequences

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
    trail: DocumentStore
    sequences: listing.Sequences

    def record(self, principal, *, action, object_type, object_id, site_id):
        document = entry(
            self.clock,
            principal,
            action=action,
            object_type=object_type,
            object_id=object_id,
            site_id=site_id,
        )
        listing.place(document, self.sequences, lanes_of(document))
        self._keep(document)
        return document

    def page(
        self, filters: dict[str, Any], *, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the trail, oldest first, filtered by equality on ``FILTERS``.

        One object's records: index ``object``, a plain equality page (an object has few). Else
        the site's trail (``site_bucket``, index ``site_trail``) or the whole trail (``bucket``,
        index ``trail``) in buckets, the other filters applied within each bucket.
        """
        query = {name: filters[name] for name in FILTERS if filters.get(name)}
        if "object_id" in query:
            return pagination.page(self.trail, query, limit=limit, cursor=cursor)
        if "site_id" in query:
            lane = listing.Lane(query, site_key(query["site_id"]), "site_bucket")
        else:
            lane = listing.Lane(query, ALL, "bucket")
        return listing.page(self.trail, [lane], self.sequences, limit=limit, cursor=cursor)

    def _keep(self, document: dict[str, Any]) -> None:
        raise NotImplementedError


class MongoAuditLog(_Recording):
    def __init__(self, db: Database, clock: Clock) -> None:
        self.collection = db[AUDIT_COLLECTION]
        self.trail = MongoDocumentStore(self.collection, "audit record")  # for reading it
        # A trail has no head: its numbers come in blocks (one counter write per block).
        self.sequences = listing.BlockSequences(listing.MongoSequences(db))
        self.clock = clock

    def _keep(self, document):
        group_inserts.of(self.collection).insert_one(document)  # with the other threads' records


class InMemoryAuditLog(_Recording):
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.trail = InMemoryDocumentStore("audit record")
        self.sequences = listing.InMemorySequences()

    def _keep(self, document):
        self.trail.documents[document["_id"]] = document

    @property
    def entries(self) -> list[dict[str, Any]]:
        return list(self.trail.documents.values())

    def actions(self) -> list[str]:
        return [e["action"] for e in self.entries]


def ensure_indexes(db: Database) -> None:
    """The trail is read oldest first in buckets (``AuditLog.page``); one object's records by
    equality. Records stored before the buckets get theirs once, in ``_id`` order."""
    trail = db[AUDIT_COLLECTION]
    trail.create_index([("object_type", 1), ("object_id", 1)], name="object")
    trail.create_index([("bucket", 1), ("_id", 1)], name="trail")
    trail.create_index([("site_id", 1), ("site_bucket", 1), ("_id", 1)], name="site_trail")
    for old in ("at", "site", "actor", "action"):
        if old in trail.index_information():
            trail.drop_index(old)
    listing.backfill_in_background(trail, listing.MongoSequences(db), lanes_of, marker=BACKFILLED)


# -- the trail over HTTP (``GET /v1/audit`` of every service that keeps one) ----------------------
class AuditArgs(pagination.PageArgs):
    site_id = http_fields.Id()
    object_type = http_fields.Text(validate=validate.Length(1, 100))
    object_id = http_fields.Text(validate=validate.Length(1, 200))
    actor = http_fields.Text(validate=validate.Length(1, 200))
    action = http_fields.Text(validate=validate.Length(1, 100))


AuditRecord = http_fields.response_schema(
    "AuditRecord",
    "actor action object_type object_id site_id",
    id=fields.String(attribute="_id"),
    at=fields.DateTime(),
    roles=fields.List(fields.String()),
    request_id=fields.String(allow_none=True),
    remote_addr=fields.String(allow_none=True),
)
AuditPage = pagination.page_of(AuditRecord)
