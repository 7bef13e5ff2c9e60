"""Cursor pagination: ``{"items": [...], "next_cursor": ...}`` ordered by time-ordered ``_id``."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from marshmallow import Schema, fields, validate
from pymongo.collection import Collection

from dbt_shared.problems import Problem


class Page(Schema):
    """Base of every list response: ``{"items": [...], "next_cursor": ...}``."""

    next_cursor = fields.String(
        allow_none=True,
        metadata={"description": "pass as cursor for the next page; null at the end"},
    )


class PageArgs(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(
        load_default=None, metadata={"description": "next_cursor of the last page"}
    )


def encode_position(position: dict[str, Any]) -> str:
    """An opaque cursor for the place where a page ended (JSON, base64url)."""
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


def invalid_cursor() -> Problem:
    return Problem(
        422,
        "Unprocessable Content",
        "The cursor is not one this API gave out.",
        errors=[{"field": "cursor", "location": "query", "message": "Invalid cursor."}],
    )


def decode_position(cursor: str) -> dict[str, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        position = json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, TypeError, binascii.Error) as exc:
        raise invalid_cursor() from exc
    if not isinstance(position, dict):
        raise invalid_cursor()
    return position


def encode_cursor(last_id: str) -> str:
    return encode_position({"after": last_id})


def decode_cursor(cursor: str) -> str:
    after = decode_position(cursor).get("after")
    if not isinstance(after, str):
        raise invalid_cursor()
    return after


def page(
    collection: Collection,
    query: dict[str, Any],
    *,
    limit: int,
    cursor: str | None,
    projection: dict[str, Any] | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    if cursor:
        query = {"$and": [query, {"_id": {"$gt": decode_cursor(cursor)}}]}
    docs = list(collection.find(query, projection, sort=[("_id", 1)], limit=limit + 1))
    more = len(docs) > limit
    docs = docs[:limit]
    return docs, (encode_cursor(docs[-1]["_id"]) if more and docs else None)
