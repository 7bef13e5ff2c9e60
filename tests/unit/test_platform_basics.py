"""Ids, cursors and problem bodies: small pieces every API response depends on."""

from __future__ import annotations

import time
import uuid

import pytest

from dbt_shared.ids import new_id
from dbt_shared.pagination import decode_cursor, encode_cursor
from dbt_shared.problems import Problem, field_errors


def test_ids_are_uuid7_and_sort_by_creation_time():
    first = new_id()
    time.sleep(0.002)
    second = new_id()
    assert uuid.UUID(first).version == 7
    assert first < second
    assert len({new_id() for _ in range(1000)}) == 1000


def test_cursor_round_trip_and_tampering():
    assert decode_cursor(encode_cursor("01a2-xyz")) == "01a2-xyz"
    with pytest.raises(Problem) as bad:
        decode_cursor("%%%not-a-cursor")
    assert bad.value.status == 422
    assert bad.value.errors[0]["field"] == "cursor"


def test_nested_validation_messages_name_the_field_at_fault():
    flat = field_errors(
        {"client": {"email": ["Not a valid email address."]}, "program": ["Must be one of: adult."]}
    )
    assert {
        "field": "client.email",
        "location": "json",
        "message": "Not a valid email address.",
    } in flat
    assert {"field": "program", "location": "json", "message": "Must be one of: adult."} in flat
    listed = field_errors({"availability": {0: {"end": ["Use 24-hour HH:MM."]}}})
    assert listed == [
        {"field": "availability[0].end", "location": "json", "message": "Use 24-hour HH:MM."}
    ]


def test_only_opaque_request_ids_are_taken_from_callers():
    from dbt_shared.correlation import accept_or_new

    kept = "4bf92f35-77b3-4da6-a3ce-929d0e0e4736"
    assert accept_or_new(kept) == kept
    assert accept_or_new("4bf92f3577b34da6a3ce929d0e0e4736") == "4bf92f3577b34da6a3ce929d0e0e4736"
    for smuggled in ("Marisol.Quintanilla-Brookes.1991-07-04", "MRN:00412345", "", None):
        replaced = accept_or_new(smuggled)
        assert replaced != smuggled and uuid.UUID(replaced)


def test_a_fetch_window_of_several_partitions_is_handled_in_the_order_sent():
    from types import SimpleNamespace

    from dbt_shared.events import records

    def rec(partition: str, offset: int, sent: int):
        return SimpleNamespace(partition=partition, offset=offset, timestamp=sent)

    batches = {
        "p0": [rec("p0", 0, 10), rec("p0", 1, 40)],
        "p1": [rec("p1", 0, 20), rec("p1", 1, 30)],
    }
    runs = records.in_time_order(batches)
    assert [(tp, [r.offset for r in run]) for tp, run in runs] == [
        ("p0", [0]),
        ("p1", [0, 1]),
        ("p0", [1]),
    ]


def test_a_remembered_value_is_read_again_once_its_time_is_up(monkeypatch):
    from dbt_shared import remembered

    clock = [0.0]
    monkeypatch.setattr(remembered.time, "monotonic", lambda: clock[0])
    reads = []
    zones = remembered.Remembered(60.0, keep=bool)

    def load(value):
        reads.append(value)
        return value

    assert zones.get("s1", lambda: load(None)) is None  # not known yet: not kept
    assert zones.get("s1", lambda: load("UTC")) == "UTC"
    clock[0] = 59.0
    assert zones.get("s1", lambda: load("Europe/Berlin")) == "UTC"  # within the minute
    clock[0] = 61.0
    assert zones.get("s1", lambda: load("Europe/Berlin")) == "Europe/Berlin"
    assert reads == [None, "UTC", "Europe/Berlin"]
