"""Publishing to Kafka: acks from every in-sync replica, idempotent producer, catalogued events."""

from __future__ import annotations

import logging

from kafka import KafkaProducer
from kafka import errors as kafka_errors

from dbt_shared import metrics
from dbt_shared.events.catalog import Catalog
from dbt_shared.events.envelope import Event

log = logging.getLogger(__name__)

# What the broker (or the client before it) says about one record that no retry can change:
# the record is too large for the topic, or malformed. Anything else (no broker, a timeout,
# a lost leader, a refused authorisation) is about the connection: the whole batch is retried.
RECORD_ERRORS = (
    kafka_errors.MessageSizeTooLargeError,
    kafka_errors.RecordListTooLargeError,
    kafka_errors.InvalidRecordError,
    kafka_errors.CorruptRecordError,
    kafka_errors.InvalidTimestampError,
)


def about_the_record(error: BaseException) -> bool:
    """Whether ``error`` condemns the one record it was raised for (never the connection)."""
    if isinstance(error, kafka_errors.KafkaError):
        return isinstance(error, RECORD_ERRORS)
    # Raised before the record reached the client: its type unknown here, its data not
    # encodable. The same record fails the same way every time.
    return isinstance(error, Exception)


class Unpublishable(Exception):
    """Some events of a ``publish`` can never be published (``rejected``: each with its
    error); every other event of the call was acknowledged by the broker."""

    def __init__(self, rejected: list[tuple[Event, BaseException]]) -> None:
        kinds = sorted({type(error).__name__ for _event, error in rejected})
        super().__init__(f"{len(rejected)} event(s) cannot be published: {', '.join(kinds)}")
        self.rejected = rejected


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
        """Send ``events`` in order and return once the broker has them all, or raise: the
        connection's error (nothing is known to be sent), or ``Unpublishable`` naming the
        events refused for good (too large...) once every other one is acknowledged, so that
        one bad record never holds back the others.

        Their data was validated where they were made (``new_event``) and is validated again by
        every consumer (``Catalog.load``): it is not checked a third time on the way out."""
        futures = []
        rejected: list[tuple[Event, BaseException]] = []
        for event in events:
            try:
                topic = self.catalog.get(event.type).topic.name
                key, value, headers = event.to_kafka()
                future = self._producer.send(topic, key=key, value=value, headers=headers)
            except Exception as exc:  # the client refused it before sending (e.g. its size)
                if not about_the_record(exc):
                    raise
                rejected.append((event, exc))
                continue
            futures.append((event, future))
        self._producer.flush(timeout=timeout_s)
        failure: BaseException | None = None
        for event, future in futures:
            try:
                future.get(timeout=timeout_s)
            except Exception as exc:
                if not about_the_record(exc):
                    failure = failure or exc
                    continue
                rejected.append((event, exc))
                continue
            metrics.EVENTS_PUBLISHED.labels(self.service, event.type).inc()
        if failure is not None:
            raise failure
        if rejected:
            raise Unpublishable(rejected)

    def send_raw(
        self, topic: str, key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes]]
    ) -> None:
        """Forward a record as it is (the dead-letter path), waiting for the broker's ack."""
        self._producer.send(topic, key=key, value=value, headers=headers).get(timeout=30)

    def close(self) -> None:
        self._producer.close(timeout=10)
