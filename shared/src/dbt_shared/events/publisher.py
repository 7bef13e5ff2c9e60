"""Publishing to Kafka: acks from every in-sync replica, idempotent producer, catalogued events."""

from __future__ import annotations

import logging

from kafka import KafkaProducer

from dbt_shared import metrics
from dbt_shared.events.catalog import Catalog
from dbt_shared.events.envelope import Event

log = logging.getLogger(__name__)


class EventPublisher:
    def __init__(self, bootstrap_servers: str, service: str, catalog: Catalog) -> None:
        self.service = service
        self.catalog = catalog
        self._producer = KafkaProducer(
            bootstrap_servers=bootstrap_servers,
            client_id=f"dbt-{service}-relay",
            acks="all",
            enable_idempotence=True,
            retries=5,
            linger_ms=5,
            request_timeout_ms=15_000,
            max_block_ms=15_000,
            reconnect_backoff_max_ms=2_000,
        )

    def publish(self, events: list[Event], timeout_s: float = 30) -> None:
        """Send ``events`` in order and return once the broker has them all (or raise).

        Their data was validated where they were made (``new_event``) and is validated again by
        every consumer (``Catalog.load``): it is not checked a third time on the way out."""
        futures = []
        for event in events:
            event_type = self.catalog.get(event.type)
            key, value, headers = event.to_kafka()
            futures.append(
                (
                    event,
                    self._producer.send(
                        event_type.topic.name, key=key, value=value, headers=headers
                    ),
                )
            )
        self._producer.flush(timeout=timeout_s)
        for event, future in futures:
            future.get(timeout=timeout_s)
            metrics.EVENTS_PUBLISHED.labels(self.service, event.type).inc()

    def send_raw(
        self, topic: str, key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes]]
    ) -> None:
        """Forward a record as it is (the dead-letter path), waiting for the broker's ack."""
        self._producer.send(topic, key=key, value=value, headers=headers).get(timeout=30)

    def close(self) -> None:
        self._producer.close(timeout=10)
