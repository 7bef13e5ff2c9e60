"""Kafka records as the consumer reads and dead-letters them: a header's text, and the headers
a dead-lettered record carries (its error, where it came from, who gave up on it)."""

from __future__ import annotations

from datetime import datetime


def header(record, name: str) -> str | None:
    """The text of a record's header ``name``; ``None`` when absent or not UTF-8."""
    for key, raw in record.headers or ():
        if key == name and raw is not None:
            try:
                return raw.decode()
            except (AttributeError, UnicodeDecodeError):
                return None
    return None


def error_text(error: Exception) -> str:
    # Schema errors name fields and rules, not values; keep every error short.
    return str(error)[:1000]


def dead_letter_headers(
    record, error: Exception, *, attempts: int, group_id: str, now: datetime
) -> list[tuple[str, bytes]]:
    """The record's own headers (earlier ``dlq_*`` ones dropped) and why it is dead-lettered."""
    return [
        *((k, v) for k, v in (record.headers or []) if not k.startswith("dlq_")),
        ("dlq_error", error_text(error).encode()),
        ("dlq_error_type", type(error).__name__.encode()),
        ("dlq_original_topic", record.topic.encode()),
        ("dlq_original_partition", str(record.partition).encode()),
        ("dlq_original_offset", str(record.offset).encode()),
        ("dlq_consumer_group", group_id.encode()),
        ("dlq_attempts", str(attempts).encode()),
        ("dlq_failed_at", now.isoformat().encode()),
    ]
