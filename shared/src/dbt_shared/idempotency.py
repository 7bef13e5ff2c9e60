"""``Idempotency-Key`` on creating POSTs: a retried request gets the first answer, once.

The first request under a key reserves it, together with the id its resource will get. If that
request dies half-way, the retry reuses the reserved id, so the resource is still created only
once (``DocumentStore.insert`` answers the stored one). A key reused with a different body is
refused with 422.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable
from typing import Protocol

from flask import Response, current_app, g, request
from pymongo import ReturnDocument

from dbt_shared import retention
from dbt_shared.auth import current_principal
from dbt_shared.errors import DomainError
from dbt_shared.ids import new_id
from dbt_shared.problems import PROBLEM_TYPE_BASE, Problem
from dbt_shared.web import context

HEADER = "Idempotency-Key"
#: Visible ASCII, 1-255 characters, spaces only inside (RFC 9110 field values are trimmed).
KEY_PATTERN = r"^[!-~](?:[ -~]{0,253}[!-~])?$"
KEY_FORMAT = re.compile(KEY_PATTERN)
COLLECTION = "idempotency_keys"
REPLAYED_HEADER = "Idempotent-Replayed"


def _invalid_key(message: str) -> Problem:
    return Problem(
        422,
        "Unprocessable Content",
        message,
        type_=PROBLEM_TYPE_BASE + "invalid-idempotency-key",
        errors=[{"field": HEADER, "location": "headers", "message": message}],
    )


def idempotent(view: Callable) -> Callable:
    """Wrap a creating view (place it under ``@blp.arguments``, above ``@blp.response``)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return view(*args, **kwargs)
        if not KEY_FORMAT.match(key):
            raise _invalid_key(
                "Idempotency-Key must be 1-255 visible ASCII characters (spaces inside only)."
            )
        ctx = context()
        principal = current_principal()
        record_id = hashlib.sha256(
            "\x1f".join([principal.subject, request.method, request.path, key]).encode()
        ).hexdigest()
        fingerprint = hashlib.sha256(request.get_data()).hexdigest()
        keys = ctx.db[COLLECTION]
        now = ctx.clock.now()
        record = keys.find_one_and_update(
            {"_id": record_id},
            {
                "$setOnInsert": {
                    "fingerprint": fingerprint,
                    "resource_id": new_id(),
                    "state": "processing",
                    "created_at": now,
                    **retention.stamp(now),  # the workers' housekeeping forgets it by day
                }
            },
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        if record["fingerprint"] != fingerprint:
            raise _invalid_key("This Idempotency-Key was used with a different request body.")
        if record["state"] == "done":
            body = _sealer().open(record["body"], record_id=record_id)
            replay = Response(body, status=record["status"], mimetype="application/json")
            for name, value in record.get("headers", {}).items():
                replay.headers[name] = value
            replay.headers[REPLAYED_HEADER] = "true"
            on_replay = current_app.extensions.get(REPLAY_HOOK_EXTENSION)
            if on_replay:  # e.g. intake audits that the client's details were shown again
                on_replay(request.path, record["resource_id"])
            return replay
        g.reserved_resource_id = record["resource_id"]
        try:
            response = view(*args, **kwargs)
        except (Problem, DomainError) as refused:
            # Refused (4xx): nothing was created, so the caller may fix the body and retry with
            # the same key. A server error keeps the reservation: the retry reuses the same
            # resource id, so a resource created before the failure is not created twice.
            if 400 <= refused.status < 500:
                keys.delete_one({"_id": record_id, "state": "processing"})
            raise
        if 200 <= response.status_code < 300:
            keys.update_one(
                {"_id": record_id},
                {
                    "$set": {
                        "state": "done",
                        "status": response.status_code,
                        "body": _sealer().seal(
                            response.get_data(as_text=True), record_id=record_id
                        ),
                        "headers": {
                            k: v for k, v in response.headers.items() if k in ("Location",)
                        },
                    }
                },
            )
        else:  # a refused request may be retried with the same key after the caller fixes it
            keys.delete_one({"_id": record_id, "state": "processing"})
        return response

    return wrapper


class ResponseSealer(Protocol):
    """Protects a stored first response at rest (it may hold client data)."""

    def seal(self, text: str, *, record_id: str) -> str: ...

    def open(self, token: str, *, record_id: str) -> str: ...


class _Plain:
    def seal(self, text: str, *, record_id: str) -> str:
        return text

    def open(self, token: str, *, record_id: str) -> str:
        return token


SEALER_EXTENSION = "dbt.idempotency.sealer"
REPLAY_HOOK_EXTENSION = "dbt.idempotency.on_replay"
"""A service may register ``on_replay(path, resource_id)``, called when a stored answer is
replayed (for example to audit that client data was shown again)."""


def _sealer() -> ResponseSealer:
    """A service whose responses carry PHI registers a sealer under ``SEALER_EXTENSION``."""
    return current_app.extensions.get(SEALER_EXTENSION) or _Plain()


def resource_id() -> str:
    """The id for the resource this request creates (stable across retries of one key)."""
    return g.pop("reserved_resource_id", None) or new_id()


#: The OpenAPI parameter every creating POST that takes the header documents.
IDEMPOTENCY_DOC = {
    "parameters": [
        {
            "in": "header",
            "name": HEADER,
            "required": False,
            "schema": {"type": "string", "pattern": KEY_PATTERN, "maxLength": 255},
            "description": "Retrying with the same key returns the first result; the same key "
            "with a different body answers 422.",
        }
    ]
}
