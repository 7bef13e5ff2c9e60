"""The pace of a client's coaching requests: a per-client limit on the non-crisis ones (the
site's ``request_limit_per_hour``, 429 with ``Retry-After``), and crisis repeats that page once
more at most (the site's ``crisis_repeat_minutes``). A crisis request is never refused.

Both live in ``request_pace``: one document per client and purpose, read by ``_id`` and written
revision-guarded (the crisis one under the client's crisis lock), so the limit holds across api
processes and concurrent requests on MongoDB and on FerretDB; the collection grows with the
clients, not with time.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from coaching import metrics
from coaching.bootstrap import Components
from coaching.domain.requests import ACTIVE_STATUSES
from coaching.services.common import SAFETY_WRITE_ATTEMPTS, aware
from dbt_shared.errors import StaleWrite, TooManyRequests, Unavailable

log = logging.getLogger(__name__)


def count_request(c: Components, client_id: str, limit: int, now: datetime) -> None:
    """Count a non-crisis request in the client's clock hour, or refuse it (429 with
    ``Retry-After``) once the site's ``request_limit_per_hour`` is reached. One document per
    client (``request_pace``, by ``_id``), written revision-guarded: concurrent requests in
    several api processes each count, on MongoDB and on FerretDB."""
    hour = int(now.timestamp()) // 3600
    pace_id = f"hour:{client_id}"
    for _ in range(SAFETY_WRITE_ATTEMPTS):
        current = c.repositories.pace.get(pace_id)  # index: _id
        count = current["count"] if current and current.get("hour") == hour else 0
        if count >= limit:
            metrics.REQUESTS_LIMITED.inc()
            raise TooManyRequests(
                f"At most {limit} coaching requests an hour. In a crisis, ask for crisis "
                "coaching (never limited) or use the emergency route.",
                retry_after_s=math.ceil((hour + 1) * 3600 - now.timestamp()),
                kind="request-limit",
            )
        counted = {"_id": pace_id, "client_id": client_id, "hour": hour, "count": count + 1}
        if current is None:
            if c.repositories.pace.insert(counted)[1]:
                return
            continue  # another request made the document first: count on it
        try:
            c.repositories.pace.save({**current, **counted})
            return
        except StaleWrite:
            continue
    raise Unavailable("The request could not be recorded now; try again.", kind="busy")


@contextmanager
def crisis_turn(c: Components, client_id: str) -> Iterator[bool]:
    """One crisis request of a client at a time decides whether it pages (yields ``True``);
    a lock not had in time yields ``False``: that request pages, as if it were the first."""
    lock = c.locks(f"coaching-crisis/{client_id}")
    try:
        lock.__enter__()
    except StaleWrite:
        yield False
        return
    try:
        yield True
    finally:
        lock.__exit__(None, None, None)


def crisis_repeat_of(c: Components, client_id: str, now: datetime, window: timedelta):
    """The client's latest crisis request, when a new one joins it instead of paging: the last
    two pages were both within ``window`` (the site's ``crisis_repeat_minutes``) and it is
    still in hand. So a repeat pages once more at most, never once per tap; a crisis after a
    closed one pages again."""
    pace = c.repositories.pace.get(f"crisis:{client_id}")  # index: _id
    if pace is None:
        return None
    pages = [aware(p) for p in pace.get("pages", [])]
    if len(pages) < 2 or any(now - p >= window for p in pages[-2:]):
        return None
    latest = c.repositories.requests.get(pace["request_id"])  # index: _id
    if latest is None or latest["status"] not in ACTIVE_STATUSES:
        return None
    return latest


def crisis_paged(c: Components, client_id: str, request_id: str, now: datetime) -> None:
    """Remember the page (under the client's crisis lock). Not remembered (a conflict, a
    crash): the next repeat pages again, the safe way to be wrong."""
    pace_id = f"crisis:{client_id}"
    current = c.repositories.pace.get(pace_id)
    pages = [*(current or {}).get("pages", [])[-1:], now]
    document = {"_id": pace_id, "client_id": client_id, "pages": pages, "request_id": request_id}
    try:
        if current is None:
            c.repositories.pace.insert(document)
        else:
            c.repositories.pace.save({**current, **document})
    except StaleWrite:
        log.warning("crisis page not remembered", extra={"request_id": request_id})
