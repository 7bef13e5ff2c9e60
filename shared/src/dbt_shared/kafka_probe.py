"""The api's readiness check of the broker (``/readyz``): a metadata request, cached a moment."""

from __future__ import annotations

import time


class KafkaProbe:
    """Answers whether a Kafka broker responds to a metadata request; caches for a moment."""

    def __init__(self, bootstrap_servers: str, cache_s: float = 2.0) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.cache_s = cache_s
        self._checked_at = 0.0
        self._error: Exception | None = None

    def __call__(self) -> None:
        if time.monotonic() - self._checked_at > self.cache_s:
            self._error = self._probe()
            self._checked_at = time.monotonic()
        if self._error is not None:
            raise self._error

    def _probe(self) -> Exception | None:
        from kafka import KafkaAdminClient

        try:
            admin = KafkaAdminClient(
                bootstrap_servers=self.bootstrap_servers,
                client_id="dbt-readiness",
                request_timeout_ms=2_000,
                bootstrap_timeout_ms=2_000,
            )
            try:
                admin.describe_cluster()
            finally:
                admin.close()
        except Exception as exc:  # any failure means "not ready"
            return exc
        return None
