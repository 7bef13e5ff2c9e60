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

# Only opaque ids are taken from outside (a UUID, or a 32-hex W3C trace id); anything else is
# replaced, so a caller cannot carry names or record numbers into our logs, audit and events.
_ACCEPTABLE = re.compile(
    r"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-f]{32})$"
)


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
