"""A windowed consumer fetches in windows while records come and seldom at rest; the first
records after a quiet come at once (``dbt_shared.events.fetch_pace``)."""

from __future__ import annotations

from kafka import KafkaConsumer

from dbt_shared.events import fetch_pace
from dbt_shared.events.fetch_pace import FETCH_MIN_BYTES, IDLE_AFTER_S, IDLE_FETCH_WAIT_MS

IDLE = {"fetch_min_bytes": 1, "fetch_max_wait_ms": IDLE_FETCH_WAIT_MS}
WINDOW = {"fetch_min_bytes": FETCH_MIN_BYTES, "fetch_max_wait_ms": 1000}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_windowed_consumer_goes_idle_after_a_quiet_and_back_with_the_first_records():
    clock = Clock()
    pace = fetch_pace.FetchPace(1000, clock)
    assert pace.initial() == WINDOW, "a backlog at start is read in windows"

    clock.now = IDLE_AFTER_S - 1
    assert pace.after_poll(False) is None
    clock.now = IDLE_AFTER_S
    assert pace.after_poll(False) == IDLE, "quiet: one fetch per 5 s, answered at the first record"
    clock.now += 30
    assert pace.after_poll(False) is None

    assert pace.after_poll(True) == WINDOW, "records again: the window is back"
    clock.now += 1
    assert pace.after_poll(True) is None


def test_a_consumer_with_no_window_always_asks_for_one_record():
    clock = Clock()
    pace = fetch_pace.FetchPace(0, clock)
    assert pace.initial() == IDLE
    clock.now = 3 * IDLE_AFTER_S
    assert pace.after_poll(False) is None
    assert pace.after_poll(True) is None


def test_the_settings_reach_the_fetch_requests_of_a_real_kafka_python_consumer():
    # No broker is needed to build one (the version is given); its fetcher builds every fetch
    # request from this dict, so a change here is what the next fetch asks for.
    consumer = KafkaConsumer(bootstrap_servers="127.0.0.1:1", api_version=(3, 0), **WINDOW)
    try:
        pace = fetch_pace.FetchPace(1000)
        pace.apply(consumer, IDLE)
        assert {k: consumer._fetcher.config[k] for k in IDLE} == IDLE
        pace.apply(consumer, None)
        assert {k: consumer._fetcher.config[k] for k in IDLE} == IDLE
    finally:
        consumer.close()
