"""The CloudEvents 1.0 envelope, and its Kafka binding in binary content mode.

Binary mode: the CloudEvents attributes travel as ``ce_*`` Kafka headers, the JSON data is the
record value, and the record key is the aggregate id (the ``partitionkey`` extension), so all
events of one client, referral or group stay in order on one partition.

Idempotency key: ``source`` + ``id``. ``type`` carries the version (``intake.site.registered.v1``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.v1.event import CloudEvent

from dbt_shared import correlation
from dbt_shared.clock import Clock
from dbt_shared.ids import new_id

if TYPE_CHECKING:
    from dbt_shared.events.catalog import Catalog

SOURCE_PREFIX = "/dbt-platform/"
CORRELATION_EXTENSION = "correlationid"


class EnvelopeError(ValueError):
    """A record that is not a well-formed CloudEvent of ours."""


class NotFromOwner(EnvelopeError):
    """A well-formed event of a type its ``source`` (or its topic) does not own."""


@dataclass(frozen=True)
class Event:
    type: str
    source: str
    subject: str
    key: str
    data: dict[str, Any]
    id: str = field(default_factory=new_id)
    time: datetime = field(default_factory=lambda: datetime.now(UTC))
    correlation_id: str | None = None

    @property
    def dedup_key(self) -> str:
        """``source`` + ``id``: the same event delivered twice has the same dedup key."""
        return f"{self.source}#{self.id}"

    # -- storage form (inside the outbox of a MongoDB document) ---------------------------
    def to_document(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "source": self.source,
            "subject": self.subject,
            "key": self.key,
            "time": self.time,
            "correlation_id": self.correlation_id,
            "data": self.data,
        }

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Event:
        moment = doc["time"]
        if moment.tzinfo is None:  # BSON dates come back naive, in UTC
            moment = moment.replace(tzinfo=UTC)
        return cls(
            id=doc["id"],
            type=doc["type"],
            source=doc["source"],
            subject=doc["subject"],
            key=doc["key"],
            time=moment,
            correlation_id=doc.get("correlation_id"),
            data=doc["data"],
        )

    # -- wire form (CloudEvents binary mode on Kafka) ---------------------------------------
    def to_cloudevent(self) -> CloudEvent:
        attributes: dict[str, Any] = {
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "specversion": "1.0",
            "subject": self.subject,
            "time": self.time,
            "datacontenttype": "application/json",
            "partitionkey": self.key,
        }
        if self.correlation_id:
            attributes[CORRELATION_EXTENSION] = self.correlation_id
        return CloudEvent(attributes, self.data)

    def to_kafka(self) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
        """(key, value, headers) for a Kafka record."""
        message = ce_kafka.to_binary_event(self.to_cloudevent())
        key = message.key.encode() if isinstance(message.key, str) else message.key
        return key or b"", message.value, list(message.headers.items())

    @classmethod
    def from_kafka(
        cls, key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes]] | None
    ) -> Event:
        header_map = {name: raw for name, raw in (headers or []) if raw is not None}
        if "ce_specversion" not in header_map:
            raise EnvelopeError("not a CloudEvent in binary mode: no ce_specversion header")
        try:
            message = ce_kafka.KafkaMessage(headers=header_map, key=key, value=value or b"")
            ce = ce_kafka.from_binary_event(message)
        except Exception as exc:  # the SDK raises several kinds for malformed input
            raise EnvelopeError(f"malformed CloudEvent: {type(exc).__name__}") from exc
        attributes = ce.get_attributes()
        data = ce.get_data()
        if isinstance(data, bytes | str):
            try:
                data = json.loads(data)
            except ValueError as exc:
                raise EnvelopeError("event data is not JSON") from exc
        if not isinstance(data, dict):
            raise EnvelopeError("event data must be a JSON object")
        moment = attributes.get("time")
        if not isinstance(moment, datetime):
            raise EnvelopeError("event has no valid time attribute")
        for required in ("id", "source", "type"):
            if not attributes.get(required):
                raise EnvelopeError(f"event lacks {required}")
        return cls(
            id=str(attributes["id"]),
            type=str(attributes["type"]),
            source=str(attributes["source"]),
            subject=str(attributes.get("subject") or ""),
            key=(key or b"").decode("utf-8", errors="replace"),
            time=moment.astimezone(UTC),
            correlation_id=attributes.get(CORRELATION_EXTENSION),
            data=data,
        )


def source_of(service: str) -> str:
    return SOURCE_PREFIX + service


def new_event(
    service: str,
    type_: str,
    *,
    key: str,
    subject: str,
    data: dict[str, Any],
    clock: Clock,
    catalog: Catalog,
) -> Event:
    """An event of ``service``, validated by ``catalog``, with the current correlation id."""
    clean = catalog.validate(type_, data)
    return Event(
        type=type_,
        source=source_of(service),
        subject=subject,
        key=key,
        data=clean,
        time=clock.now(),
        correlation_id=correlation.current(),
    )
