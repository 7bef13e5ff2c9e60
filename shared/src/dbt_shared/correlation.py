"""The correlation id of the request (or event) being handled, carried into events and logs."""

from __future__ import annotations

import contextlib
import contextvars
import re
import uuid
from collections.abc import Iterator

REQUEST_ID_HEADER = "X-Request-ID"  # carries the correlation id over HTTP, in and out

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "dbt_correlation_id", default=None
)

# Only ids that look like ids are taken from outside; anything else is replaced, so a caller
# cannot smuggle text (or PHI) into our logs and events through this header.
_ACCEPTABLE = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")


def current() -> str | None:
    return _current.get()


def accept_or_new(candidate: str | None) -> str:
    if candidate and _ACCEPTABLE.match(candidate):
        return candidate
    return str(uuid.uuid4())


def set_current(correlation_id: str | None) -> contextvars.Token:
    return _current.set(correlation_id)


def reset(token: contextvars.Token) -> None:
    _current.reset(token)


@contextlib.contextmanager
def bound(correlation_id: str | None) -> Iterator[None]:
    token = _current.set(correlation_id)
    try:
        yield
    finally:
        _current.reset(token)
