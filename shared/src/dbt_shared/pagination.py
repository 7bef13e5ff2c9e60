"""Cursor pagination: ``{"items": [...], "next_cursor": ...}`` ordered by time-ordered ``_id``.

A cursor is the id (hex-encoded) of the last item of the page before: the next page holds the
items whose id sorts after it. Any string of the documented pattern is a cursor the API accepts
(a made-up one just moves the start of the page), so the OpenAPI document states the whole rule.
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import Schema, fields, validate
from pymongo.collection import Collection

from dbt_shared.http_fields import Pattern
from dbt_shared.problems import Problem

#: The cursor of a list in ``_id`` order: the last item's id in hex. Opaque to a client, and
#: every string of the pattern decodes to some id (a made-up one just moves the page start),
#: so the pattern in the document is the whole rule.
CURSOR_PATTERN = r"^(?:[0-9a-f]{2}){1,200}$"
_CURSOR = re.compile(CURSOR_PATTERN)


def cursor_field(
    pattern: str = CURSOR_PATTERN, description: str = "next_cursor of the page before"
) -> fields.String:
    """The ``cursor`` query argument of a list: a string of ``pattern``, or absent."""
    return fields.String(
        load_default=None,
        allow_none=False,  # a query string has no null: an absent cursor is the first page
        validate=Pattern(pattern, error="Not a cursor this API gives out."),
        metadata={"description": description},
    )


class Page(Schema):
    """Base of every list response: ``{"items": [...], "next_cursor": ...}``."""

    next_cursor = fields.String(
        allow_none=True,
        validate=Pattern(CURSOR_PATTERN),  # documents the pattern; dumping never validates
        metadata={"description": "pass as cursor for the next page; null at the end"},
    )


class PageArgs(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = cursor_field()


def invalid_cursor() -> Problem:
    return Problem(
        422,
        "Unprocessable Content",
        "The cursor is not one this API gave out.",
        errors=[{"field": "cursor", "location": "query", "message": "Invalid cursor."}],
    )


def encode_cursor(last_id: str) -> str:
    """The cursor of a page that ended with the item ``last_id``."""
    return last_id.encode("latin-1").hex()


def decode_cursor(cursor: str) -> str:
    """The id a page starts after (the schema checked the pattern; callers outside HTTP may
    pass anything, so it is checked again)."""
    if not isinstance(cursor, str) or not _CURSOR.match(cursor):
        raise invalid_cursor()
    return bytes.fromhex(cursor).decode("latin-1")


def page(
    collection: Collection,
    query: dict[str, Any],
    *,
    limit: int,
    cursor: str | None,
    projection: dict[str, Any] | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of ``collection`` (a pymongo collection or a ``DocumentStore``) in ``_id``
    order, and the cursor of the next (``None`` at the end)."""
    if cursor:
        query = {"$and": [query, {"_id": {"$gt": decode_cursor(cursor)}}]}
    docs = list(collection.find(query, projection, sort=[("_id", 1)], limit=limit + 1))
    more = len(docs) > limit
    docs = docs[:limit]
    return docs, (encode_cursor(docs[-1]["_id"]) if more and docs else None)


def page_of(item: type[Schema]) -> type[Schema]:
    """The list response of ``item``: ``<Item>Page`` with ``items`` and ``next_cursor``."""
    return Page.from_dict({"items": fields.List(fields.Nested(item))}, name=f"{item.__name__}Page")


def page_union(
    collection: Collection,
    queries: list[dict[str, Any]],
    *,
    limit: int,
    cursor: str | None,
    projection: dict[str, Any] | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page, in ``_id`` order, of the documents any of ``queries`` matches: each query is an
    indexed equality plus sort plus limit of its own, merged here, instead of one ``$in`` (which
    FerretDB cannot push down, so it would read every document the collection ever held)."""
    after = decode_cursor(cursor) if cursor else None
    merged: dict[Any, dict[str, Any]] = {}
    for query in queries:
        if after is not None:
            query = {"$and": [query, {"_id": {"$gt": after}}]}
        for doc in collection.find(query, projection, sort=[("_id", 1)], limit=limit + 1):
            merged[doc["_id"]] = doc
    ordered = [merged[key] for key in sorted(merged)]
    more = len(ordered) > limit
    ordered = ordered[:limit]
    return ordered, (encode_cursor(ordered[-1]["_id"]) if more and ordered else None)
