"""Audit records: who touched which client-data object, when, how, from where. Never the data.

A use case records through an ``AuditLog`` with the acting ``Principal`` (the api's caller, or
the service itself in a handler or timer): ``MongoAuditLog`` in the processes,
``InMemoryAuditLog`` in unit tests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from flask.views import MethodView
from marshmallow import ValidationError, fields, validate, validates_schema
from pymongo.database import Database

from dbt_shared import correlation, http_fields, pagination
from dbt_shared.auth import Principal, require_roles
from dbt_shared.clock import Clock
from dbt_shared.ids import new_id
from dbt_shared.storage import listing
from dbt_shared.storage.documents import DocumentStore
from dbt_shared.storage.memory_documents import InMemoryDocumentStore
from dbt_shared.web import Blueprint

if TYPE_CHECKING:
    from dbt_shared.storage.context import Storage

AUDIT_COLLECTION = "audit_log"
#: The filters of the trail, each an equality on the record.
FILTERS = ("site_id", "object_type", "object_id", "actor", "action")
ALL = "audit:all"


def site_key(site_id: str) -> str:
    return f"audit:site:{site_id}"


def actor_key(actor: str) -> str:
    return f"audit:actor:{actor}"


def lanes_of(document: dict[str, Any]) -> dict[str, str]:
    """The lists an audit record is in: the whole trail, its site's trail (a record written
    before records named their site is in the whole trail only) and its actor's (none for the
    service's own records): each filter the trail offers alone reads a list of its own, so a
    sparse one (one person's records among millions) reads a page, not the history."""
    lanes = {"bucket": ALL}
    if document.get("site_id"):
        lanes["site_bucket"] = site_key(document["site_id"])
    if document.get("actor"):
        lanes["actor_bucket"] = actor_key(document["actor"])
    return lanes


def entry(
    clock: Clock,
    principal: Principal | None,
    *,
    action: str,
    object_type: str,
    object_id: str,
    site_id: str,
    object_ids: list[str] | None = None,
) -> dict[str, Any]:
    document = {
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
    if object_ids is not None:
        # One record for an access to several objects at once (a list page's names): each is
        # found in its object's trail too (``page``, index ``objects_trail``).
        document["object_ids"] = list(object_ids)
    return document


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
        object_ids: list[str] | None = None,
    ) -> dict[str, Any]: ...

    def record_list(
        self,
        principal: Principal | None,
        action: str,
        object_type: str,
        site_id: str,
        object_ids: list[str] | None = None,
    ) -> dict[str, Any]: ...


class _Recording:
    clock: Clock
    trail: DocumentStore
    sequences: listing.Sequences

    def record(self, principal, *, action, object_type, object_id, site_id, object_ids=None):
        document = entry(
            self.clock,
            principal,
            action=action,
            object_type=object_type,
            object_id=object_id,
            site_id=site_id,
            object_ids=object_ids,
        )
        listing.place(document, self.sequences, lanes_of(document))
        self._keep(document)
        return document

    def record_list(self, principal, action, object_type, site_id, object_ids=None):
        """A read of one site's list (its waitlist, its failed deliveries): the list is the
        object, named by its site; ``object_ids``, whose records it showed."""
        return self.record(
            principal,
            action=action,
            object_type=object_type,
            object_id=site_id,
            site_id=site_id,
            object_ids=object_ids,
        )

    def page(
        self, filters: dict[str, Any], *, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the trail, oldest first, filtered by equality on ``FILTERS``.

        The most selective filter given picks the list walked, the others apply within it:
        one object's records (index ``object_trail``, or ``object`` with its type: a plain
        equality page, an object has few); else one actor's (``actor_bucket``, index
        ``actor_trail``), the site's trail (``site_bucket``, index ``site_trail``) or the whole
        trail (``bucket``, index ``trail``), each in buckets. ``object_type`` and ``action`` are
        offered over HTTP only with ``object_id`` (``AuditArgs``): a rare action has no list of
        its own, and looking for it in the site's trail would walk the site's history.
        """
        query = {name: filters[name] for name in FILTERS if filters.get(name)}
        if "object_id" in query:
            # its own records, and those of accesses to several objects that list it
            listed = {k: v for k, v in query.items() if k != "object_id"}
            listed["object_ids"] = query["object_id"]
            return pagination.page_union(self.trail, [query, listed], limit=limit, cursor=cursor)
        if "actor" in query:
            lane = listing.Lane(query, actor_key(query["actor"]), "actor_bucket")
        elif "site_id" in query:
            lane = listing.Lane(query, site_key(query["site_id"]), "site_bucket")
        else:
            lane = listing.Lane(query, ALL, "bucket")
        return listing.page(self.trail, [lane], self.sequences, limit=limit, cursor=cursor)

    def _keep(self, document: dict[str, Any]) -> None:
        raise NotImplementedError


class MongoAuditLog(_Recording):
    def __init__(self, storage: Storage, clock: Clock) -> None:
        self.collection = storage.db[AUDIT_COLLECTION]
        self.trail = storage.documents(AUDIT_COLLECTION, "audit record")  # for reading it
        # A trail has no head: its numbers come in blocks (one counter write per block).
        self.sequences = storage.sequences()
        self.inserts = storage.inserts.of(self.collection)  # with the other threads' records
        self.clock = clock

    def _keep(self, document):
        self.inserts.insert_one(document)


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
    """The trail is read oldest first in buckets (``AuditLog.page``): whole, by site, by
    actor; one object's records by equality."""
    trail = db[AUDIT_COLLECTION]
    trail.create_index([("object_type", 1), ("object_id", 1)], name="object")
    trail.create_index([("object_id", 1), ("_id", 1)], name="object_trail")  # without its type
    # the records of accesses to several objects, by each (few records carry the field)
    trail.create_index([("object_ids", 1), ("_id", 1)], name="objects_trail", sparse=True)
    trail.create_index([("bucket", 1), ("_id", 1)], name="trail")
    trail.create_index([("site_id", 1), ("site_bucket", 1), ("_id", 1)], name="site_trail")
    trail.create_index([("actor", 1), ("actor_bucket", 1), ("_id", 1)], name="actor_trail")


# -- the trail over HTTP (``GET /v1/audit`` of every service that keeps one) ----------------------
class AuditArgs(pagination.PageArgs):
    site_id = http_fields.Id()
    object_type = http_fields.Text(
        validate=validate.Length(1, 100), metadata={"description": "with object_id only"}
    )
    object_id = http_fields.Text(validate=validate.Length(1, 200))
    actor = http_fields.Text(validate=validate.Length(1, 200))
    action = http_fields.Text(
        validate=validate.Length(1, 100), metadata={"description": "with object_id only"}
    )

    @validates_schema
    def _served_filters(self, data: dict[str, Any], **_kwargs: Any) -> None:
        # Each filter offered reads a list of its own (``AuditLog.page``); a type or an action
        # has none, so it narrows one object's records only.
        for name in ("object_type", "action"):
            if data.get(name) and not data.get("object_id"):
                raise ValidationError(f"Filter by {name} together with object_id.", name)


AuditRecord = http_fields.response_schema(
    "AuditRecord",
    "actor action object_type object_id site_id",
    id=fields.String(attribute="_id"),
    at=fields.DateTime(),
    roles=fields.List(fields.String()),
    request_id=fields.String(allow_none=True),
    remote_addr=fields.String(allow_none=True),
    object_ids=fields.List(
        fields.String(), metadata={"description": "an access to several objects: each of them"}
    ),
)
AuditPage = pagination.page_of(AuditRecord)


def blueprint(trail: Callable[[], AuditLog], whose: str) -> Blueprint:
    """``GET /v1/audit`` (operators), the same in every service that keeps a trail: its records
    oldest first, a page at a time, filtered (``AuditArgs``). ``trail`` gives the service's
    ``AuditLog`` (its components'); ``whose`` says whose data its records are about."""
    blp = Blueprint(
        "audit_trail", __name__, url_prefix="/v1", description=f"Who read or wrote {whose}"
    )

    @blp.route("/audit")
    class AuditTrail(MethodView):
        @require_roles("operator")
        @blp.arguments(AuditArgs, location="query")
        @blp.response(200, AuditPage)
        @blp.doc(summary=f"Who read or wrote {whose}, oldest first, filtered.")
        def get(self, args):
            items, cursor = trail().page(args, limit=args["limit"], cursor=args["cursor"])
            return {"items": items, "next_cursor": cursor}

    return blp
