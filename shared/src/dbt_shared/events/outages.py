"""How the consumer waits out failures: a failing handler is retried with exponential backoff
up to its last attempt; a lost database is not the event's fault and is waited out without
counting as an attempt; a stop while a record is retried leaves it uncommitted (read again
after the restart, never skipped)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from pymongo.errors import ConnectionFailure, OperationFailure

from dbt_shared.events.envelope import Event

log = logging.getLogger("dbt_shared.events.consumer")


class Stopping(Exception):
    """Raised out of a batch by a stop while a record is retried: its offset stays uncommitted."""


class Retrying:
    """The retry loops of ``ConsumerRunner`` (a mix-in: it sets these attributes)."""

    _stop: threading.Event
    max_attempts: int
    backoff_initial_s: float
    backoff_max_s: float

    def _retrying(self, run: Callable[[], None], event: Event) -> Exception | None:
        """Run ``run`` until it succeeds (``None``) or has failed ``max_attempts`` times (the
        last error). A lost database is waited out and never counts as an attempt."""
        attempt = 0
        delay = self.backoff_initial_s
        while True:
            if self._stop.is_set() and attempt > 0:
                raise Stopping  # leave the offset uncommitted: redelivered after restart
            try:
                run()
                return None
            except Exception as exc:
                if not database_away(exc):
                    error = exc
                elif self._stop.is_set():  # stopping: leave it uncommitted, redelivered later
                    raise Stopping from None
                else:  # an outage is not the event's fault: never counts as an attempt
                    log.warning("database unreachable while handling; waiting", extra=ids(event))
                    self._stop.wait(min(delay, self.backoff_max_s))
                    delay = min(delay * 2, self.backoff_max_s)
                    continue
            attempt += 1
            log.warning(
                "event handler failed",
                extra={**ids(event), "attempt": attempt, "error": type(error).__name__},
            )
            if attempt >= self.max_attempts:
                return error
            self._stop.wait(min(delay, self.backoff_max_s))
            delay = min(delay * 2, self.backoff_max_s)

    def _with_db_retry(self, operation):
        delay = self.backoff_initial_s
        while True:
            try:
                return operation()
            except Exception as exc:
                if not database_away(exc):
                    raise
                if self._stop.is_set():
                    raise Stopping from None
                log.warning("database unreachable; waiting")
                self._stop.wait(delay)
                delay = min(delay * 2, self.backoff_max_s)


# What FerretDB answers while its PostgreSQL is away (down, restarting, refusing connections):
# an internal error naming the lost backend, not a connection failure.
_BACKEND_AWAY = (
    "SQLSTATE 08",  # connection exception
    "SQLSTATE 57P",  # shut down, crashed, cannot connect now
    "failed to connect to",
    "dial error",
    "unexpected postmaster exit",
    "the database system is",  # ... starting up / shutting down / in recovery mode
)


def database_away(error: BaseException) -> bool:
    """Whether ``error`` says the database cannot be reached (MongoDB or FerretDB, or the
    PostgreSQL behind FerretDB), rather than that this write is wrong."""
    if isinstance(error, ConnectionFailure):
        return True
    if not isinstance(error, OperationFailure):
        return False
    text = f"{error} {getattr(error, 'details', '')}"
    return any(sign in text for sign in _BACKEND_AWAY)


def ids(event: Event) -> dict:
    return {"event_id": event.id, "event_type": event.type}
