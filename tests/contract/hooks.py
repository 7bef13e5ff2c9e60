"""Schemathesis hooks: the client's side of three rules JSON Schema cannot state.

Loaded by ``schemathesis.toml`` (``hooks``), so a run by hand behaves as the contract test.
They only change well-formed (positive) requests, into requests a careful client would send; a
request meant to be malformed goes out as generated, so the server must still refuse it.

- ``Idempotency-Key``: a client sends a new key with each new request (and the same key only to
  retry the same request). Drawn keys repeat across different bodies, which the server rightly
  answers 422; each well-formed key is made unique instead.
- An availability window ends after it starts (``Availability`` says so in its description):
  a well-formed window drawn the other way round is turned around.
- The audit trail's ``object_type`` and ``action`` filter one object's records (their
  descriptions say "with object_id only"; no list serves them alone): a well-formed query that
  draws them without ``object_id`` sends them without, as a careful client would.
"""

from __future__ import annotations

import re
import uuid
from datetime import date

import schemathesis

from dbt_shared.idempotency import KEY_FORMAT

_HHMM = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]\Z")


@schemathesis.hook
def before_call(context, case, kwargs):
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    headers = case.headers or {}
    key = headers.get("Idempotency-Key")
    if isinstance(key, str) and KEY_FORMAT.match(key):
        headers["Idempotency-Key"] = f"contract-{uuid.uuid4()}"
    if (
        case.path == "/v1/audit"
        and isinstance(case.query, dict)
        and not case.query.get("object_id")
    ):
        for name in ("object_type", "action"):
            case.query.pop(name, None)
    if case.path.endswith("/coverage") and isinstance(case.query, dict):
        # A window's end is not before its start, nor a 62 days or more after it (a 422 at `to`
        # otherwise): rules that relate two parameters, which OpenAPI cannot state.
        start, end = case.query.get("from"), case.query.get("to")
        if isinstance(start, str) and isinstance(end, str):
            try:
                days = (date.fromisoformat(end) - date.fromisoformat(start)).days
            except ValueError:
                days = 0
            if not 0 <= days < 62:  # coaching.services.availability.MAX_COVERAGE_DAYS
                case.query["to"] = start
    if case.path.endswith("/admission") and isinstance(case.body, dict):
        windows = case.body.get("availability")
        for window in windows if isinstance(windows, list) else []:
            if isinstance(window, dict):
                _put_in_order(window)


def _put_in_order(window: dict) -> None:
    start, end = window.get("start"), window.get("end")
    if not (isinstance(start, str) and isinstance(end, str)):
        return
    if not (_HHMM.match(start) and _HHMM.match(end)) or start < end:
        return
    if start == end:  # widen by a minute, towards whichever side has room
        if end != "23:59":
            end = _plus_minute(end)
        else:
            start = "23:58"
    window["start"], window["end"] = min(start, end), max(start, end)


def _plus_minute(hhmm: str) -> str:
    minutes = int(hhmm[:2]) * 60 + int(hhmm[3:]) + 1
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
