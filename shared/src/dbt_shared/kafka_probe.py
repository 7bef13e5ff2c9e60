"""The api's readiness check of the broker (``/readyz``): a metadata request, cached a moment."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any


def _admin_client(bootstrap_servers: str) -> Any:
    from kafka import KafkaAdminClient

    return KafkaAdminClient(
        bootstrap_servers=bootstrap_servers,
        client_id="dbt-readiness",
        request_timeout_ms=2_000,
        bootstrap_timeout_ms=2_000,
    )


class KafkaProbe:
    """Answers whether a Kafka broker responds to a metadata request; caches for a moment.

    The probe keeps its admin client between checks: each scrape of the api runs it (every 5 s
    locally), and a client made per check cost the api 5 ms and the broker 2.5 ms of CPU each
    time (a connection, its version handshake and a metadata bootstrap), against under 1 ms for
    the request alone. A failed request drops the client: the next check connects afresh, so a
    broker that comes back is seen as soon as it answers."""

    def __init__(
        self,
        bootstrap_servers: str,
        cache_s: float = 2.0,
        connect: Callable[[str], Any] = _admin_client,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.cache_s = cache_s
        self._connect = connect
        self._admin: Any = None
        self._checked_at = 0.0
        self._error: Exception | None = None
        self._lock = threading.Lock()  # one client, used by one request thread at a time

    def __call__(self) -> None:
        with self._lock:
            if time.monotonic() - self._checked_at > self.cache_s:
                self._error = self._probe()
                self._checked_at = time.monotonic()
            error = self._error
        if error is not None:
            raise error

    def _probe(self) -> Exception | None:
        try:
            if self._admin is None:
                self._admin = self._connect(self.bootstrap_servers)
            self._admin.describe_cluster()
        except Exception as exc:  # any failure means "not ready"
            self._drop()
            return exc
        return None

    def _drop(self) -> None:
        admin, self._admin = self._admin, None
        if admin is not None:
            # closing a client whose broker went away: nothing to keep of it
            with contextlib.suppress(Exception):
                admin.close()
