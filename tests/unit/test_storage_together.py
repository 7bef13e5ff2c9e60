"""``Storage.together``: independent reads of one request made at once (the crisis page's site
reads wait for the slowest, not for their sum), each answer by its name."""

from __future__ import annotations

import threading

import pytest

from dbt_shared.storage.context import Storage, together


def _storage() -> Storage:
    return Storage(None, write_lock=False)  # type: ignore[arg-type]  # (no database is asked)


def test_the_reads_are_made_at_once_and_answered_by_name():
    all_in = threading.Barrier(3, timeout=5)  # passes only when the three wait at once

    def read(value: str):
        return lambda: (all_in.wait(), value)[1]

    found = _storage().together(rota=read("r"), zone=read("z"), settings=read("s"))
    assert found == {"rota": "r", "zone": "z", "settings": "s"}


def test_a_read_that_fails_fails_the_call_once_the_others_have_ended():
    ended = threading.Event()

    def slow() -> str:
        ended.wait(0.2)
        ended.set()
        return "late"

    def broken() -> str:
        raise LookupError("gone")

    with pytest.raises(LookupError):
        _storage().together(slow=slow, broken=broken)
    assert ended.is_set()


def test_without_a_storage_the_reads_are_made_one_after_another():
    order: list[str] = []
    found = together(None, a=lambda: order.append("a") or 1, b=lambda: order.append("b") or 2)
    assert (found, order) == ({"a": 1, "b": 2}, ["a", "b"])
