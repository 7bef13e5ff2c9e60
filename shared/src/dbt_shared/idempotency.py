"""``Idempotency-Key`` on creating POSTs: a retried request gets the first answer, once.

The first request under a key reserves it, together with the id its resource will get. If that
request dies half-way, the retry reuses the reserved id, so the resource is still created only
once (``DocumentStore.insert`` answers the stored one). A key reused with a different body is
refused with 422.

Everything the protocol needs is handed to it, nothing is looked up: the keys are kept by an
``IdempotencyKeys`` repository (``MongoIdempotencyKeys``, ``InMemoryIdempotencyKeys``), which an
``Idempotency`` built by the service's ``bootstrap`` holds with the service's clock and the
sealer of stored answers; a view's ``idempotent(keys, on_replay)`` names how to reach it and
what a replay of that view must do before it goes (intake audits a replay that shows client
data again).
"""

from __future__ import annotations

import functools
import hashlib
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from flask import Response, g, request
from pymongo import ReturnDocument
from pymongo.database import Database

from dbt_shared import retention
from dbt_shared.auth import current_principal
from dbt_shared.clock import Clock
from dbt_shared.errors import DomainError
from dbt_shared.ids import new_id
from dbt_shared.problems import PROBLEM_TYPE_BASE, Problem

HEADER = "Idempotency-Key"
#: Visible ASCII, 1-255 characters, spaces only inside (RFC 9110 field values are trimmed).
KEY_PATTERN = r"^[!-~](?:[ -~]{0,253}[!-~])?$"
KEY_FORMAT = re.compile(KEY_PATTERN)
COLLECTION = "idempotency_keys"
REPLAYED_HEADER = "Idempotent-Replayed"
#: The headers of a first answer kept for its replays.
KEPT_HEADERS = ("Location",)


# -- where the keys are kept -------------------------------------------------------------------
class IdempotencyKeys(Protocol):
    """The keys of creating requests: a reservation, then the answer a retry gets."""

    def reserve(self, record_id: str, fingerprint: str, now: datetime) -> dict[str, Any]:
        """The key's record: reserved now (``state`` processing, a new ``resource_id``) unless
        it exists, else the one kept (processing still, or ``done`` with its answer)."""
        ...

    def keep_answer(self, record_id: str, status: int, body: str, headers: dict[str, str]) -> None:
        """The request under the key succeeded: its answer is what every retry gets."""
        ...

    def release(self, record_id: str) -> None:
        """The request was refused: forget its reservation (unless answered meanwhile), so the
        caller may fix the body and retry with the same key."""
        ...


def _reservation(fingerprint: str, now: datetime) -> dict[str, Any]:
    return {
        "fingerprint": fingerprint,
        "resource_id": new_id(),
        "state": "processing",
        "created_at": now,
        **retention.stamp(now),  # the workers' housekeeping forgets it by day
    }


def _answer(status: int, body: str, headers: dict[str, str]) -> dict[str, Any]:
    return {"state": "done", "status": status, "body": body, "headers": headers}


class MongoIdempotencyKeys:
    """The keys in ``idempotency_keys``, one document per key (``_id``: a hash of the caller,
    the method, the path and the key); the workers' housekeeping deletes them by day."""

    def __init__(self, db: Database) -> None:
        self.keys = db[COLLECTION]

    def reserve(self, record_id: str, fingerprint: str, now: datetime) -> dict[str, Any]:
        return self.keys.find_one_and_update(  # index: _id
            {"_id": record_id},
            {"$setOnInsert": _reservation(fingerprint, now)},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )

    def keep_answer(self, record_id: str, status: int, body: str, headers: dict[str, str]) -> None:
        self.keys.update_one({"_id": record_id}, {"$set": _answer(status, body, headers)})

    def release(self, record_id: str) -> None:
        self.keys.delete_one({"_id": record_id, "state": "processing"})  # index: _id

    def ensure_indexes(self) -> None:
        retention.ensure_index(self.keys)  # index: day (housekeeping's whole days by equality)

    def forget_before(self, moment: datetime) -> int:
        """Delete the keys of the whole days before ``moment``'s (the workers' housekeeping:
        no client retries that late)."""
        return retention.forget_before(self.keys, moment)


class InMemoryIdempotencyKeys:
    """The same contract in a dict, for unit and API tests."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def reserve(self, record_id: str, fingerprint: str, now: datetime) -> dict[str, Any]:
        with self._lock:
            kept = self.records.setdefault(
                record_id, {"_id": record_id, **_reservation(fingerprint, now)}
            )
            return dict(kept)

    def keep_answer(self, record_id: str, status: int, body: str, headers: dict[str, str]) -> None:
        with self._lock:
            self.records[record_id].update(_answer(status, body, headers))

    def release(self, record_id: str) -> None:
        with self._lock:
            if self.records.get(record_id, {}).get("state") == "processing":
                del self.records[record_id]


# -- the protocol ------------------------------------------------------------------------------
class ResponseSealer(Protocol):
    """Protects a stored first response at rest (it may hold client data)."""

    def seal(self, text: str, *, record_id: str) -> str: ...

    def open(self, token: str, *, record_id: str) -> str: ...


class Plain:
    """Stored answers as they are: for a service whose answers hold no client data."""

    def seal(self, text: str, *, record_id: str) -> str:
        return text

    def open(self, token: str, *, record_id: str) -> str:
        return token


@dataclass
class Idempotency:
    """What the protocol runs on, built by a service's ``bootstrap``: its keys, its clock, and
    the sealer of the answers it keeps (a service whose answers carry PHI seals them)."""

    keys: IdempotencyKeys
    clock: Clock
    sealer: ResponseSealer = field(default_factory=Plain)


def _invalid_key(message: str) -> Problem:
    return Problem(
        422,
        "Unprocessable Content",
        message,
        type_=PROBLEM_TYPE_BASE + "invalid-idempotency-key",
        errors=[{"field": HEADER, "location": "headers", "message": message}],
    )


def idempotent(
    keys: Callable[[], Idempotency], on_replay: Callable[..., None] | None = None
) -> Callable[[Callable], Callable]:
    """Make a creating view idempotent (place it under ``@blp.arguments``, above
    ``@blp.response``). ``keys`` answers the service's ``Idempotency`` (its components');
    ``on_replay(resource_id, **view_kwargs)``, if given, runs before a kept answer is given
    again (to audit it, or to refuse a caller who may no longer see it)."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            key = request.headers.get(HEADER)
            if key is None:
                return view(*args, **kwargs)
            if not KEY_FORMAT.match(key):
                raise _invalid_key(
                    "Idempotency-Key must be 1-255 visible ASCII characters (spaces inside only)."
                )
            idempotency = keys()
            record_id = hashlib.sha256(
                "\x1f".join(
                    [current_principal().subject, request.method, request.path, key]
                ).encode()
            ).hexdigest()
            fingerprint = hashlib.sha256(request.get_data()).hexdigest()
            record = idempotency.keys.reserve(record_id, fingerprint, idempotency.clock.now())
            if record["fingerprint"] != fingerprint:
                raise _invalid_key("This Idempotency-Key was used with a different request body.")
            if record["state"] == "done":
                if on_replay is not None:  # before the answer goes: audited, or refused
                    on_replay(record["resource_id"], **kwargs)
                return _replay(idempotency.sealer.open(record["body"], record_id=record_id), record)
            g.reserved_resource_id = record["resource_id"]
            try:
                response = view(*args, **kwargs)
            except (Problem, DomainError) as refused:
                # Refused (4xx): nothing was created, so the caller may fix the body and retry
                # with the same key. A server error keeps the reservation: the retry reuses the
                # same resource id, so a resource created before the failure is not created twice.
                if 400 <= refused.status < 500:
                    idempotency.keys.release(record_id)
                raise
            if 200 <= response.status_code < 300:
                body = response.get_data(as_text=True)
                idempotency.keys.keep_answer(
                    record_id,
                    response.status_code,
                    idempotency.sealer.seal(body, record_id=record_id),
                    {k: v for k, v in response.headers.items() if k in KEPT_HEADERS},
                )
            else:  # a refused request may be retried with the same key after the caller fixes it
                idempotency.keys.release(record_id)
            return response

        return wrapper

    return decorate


def _replay(body: str, record: dict[str, Any]) -> Response:
    replay = Response(body, status=record["status"], mimetype="application/json")
    for name, value in record.get("headers", {}).items():
        replay.headers[name] = value
    replay.headers[REPLAYED_HEADER] = "true"
    return replay


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
