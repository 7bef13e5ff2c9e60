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
