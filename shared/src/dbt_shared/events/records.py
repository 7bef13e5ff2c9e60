"""Kafka records as the consumer reads and dead-letters them: a header's text, a poll's
partitions in the order their records were sent, and the headers a dead-lettered record
carries (its error, where it came from, who gave up on it)."""

from __future__ import annotations

import heapq
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


def in_time_order(batches: dict) -> list[tuple[object, list]]:
    """A poll's records (partition -> records) as runs of one partition each, merged by the
    time each record was sent, each partition's own order kept: with a fetch window, records of
    several partitions come together, and what happened first is still handled first
    (fairness: the first admitted client takes the first seat)."""
    if len(batches) < 2:
        return list(batches.items())
    merged = heapq.merge(
        *(
            [(record.timestamp, n, i, tp, record) for i, record in enumerate(run)]
            for n, (tp, run) in enumerate(batches.items())
        )
    )
    runs: list[tuple[object, list]] = []
    for _sent, _n, _i, tp, record in merged:
        if runs and runs[-1][0] == tp:
            runs[-1][1].append(record)
        else:
            runs.append((tp, [record]))
    return runs


def first_of(runs, topics: frozenset[str]) -> list[tuple[object, list]]:
    """``runs`` (partition, records) with those of ``topics`` first, the order otherwise kept."""
    runs = list(runs)
    if not topics:
        return runs
    return sorted(runs, key=lambda run: run[0].topic not in topics)  # stable


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
