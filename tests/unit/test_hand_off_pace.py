"""The hand-off sends a write of a quiet moment at once (a crisis request does not wait for
company that is not coming), and gathers a stream of writes into one send."""

from __future__ import annotations

import threading
import time

from dbt_shared.events import hand_off as hand_offs
from dbt_shared.events.envelope import Event
from dbt_shared.events.hand_off import HandOff

GATHER_S = 3.0  # long beside anything this test waits for: a send that waited for it shows


class _Intents:
    def delete_many(self, _query):
        return None


class _Database:
    name = "dbt_tests"

    def __getitem__(self, _name: str) -> _Intents:
        return _Intents()


class _Broker:
    def __init__(self) -> None:
        self.sends: list[list[str]] = []
        self.sent = threading.Event()

    def publish(self, events, timeout_s: float = 30) -> None:
        self.sends.append([event.id for event in events])
        self.sent.set()


def _event(key: str) -> Event:
    return Event(type="thing.changed", source="tests", subject=key, key=key, data={})


def test_a_write_of_a_quiet_moment_is_sent_without_waiting_to_gather():
    broker, hand_off = _Broker(), HandOff()
    hand_off.connect(lambda: broker, gather_s=GATHER_S)
    began = time.monotonic()
    assert hand_off.hand_off(_Database(), [_event("a")])
    assert broker.sent.wait(GATHER_S / 2), "sent before the gathering time ran out"
    assert time.monotonic() - began < GATHER_S
    hand_off.flush()


def test_writes_in_a_stream_are_gathered_into_one_send(monkeypatch):
    monkeypatch.setattr(hand_offs, "STREAM_GAP_S", 60.0)  # a slow test thread is still a stream
    broker, hand_off = _Broker(), HandOff()
    hand_off.connect(lambda: broker, gather_s=GATHER_S)
    db = _Database()
    hand_off.hand_off(db, [_event("first")])
    assert broker.sent.wait(GATHER_S / 2)
    for key in ("b", "c", "d"):  # right after a send: a stream
        hand_off.hand_off(db, [_event(key)])
    hand_off.flush()
    assert [len(send) for send in broker.sends] == [1, 3]
