"""A value in steady use is read again in the background: the caller never waits on the load
(the on-call clinician's number asked of a loaded intake while a crisis page waits)."""

import threading
import time

from dbt_shared import remembered


def _settled(kept: remembered.Remembered) -> None:
    """Until no background load is in flight."""
    deadline = time.perf_counter() + 5
    while kept._loading and time.perf_counter() < deadline:
        time.sleep(0.001)


def test_a_value_past_its_refresh_age_is_answered_at_once_and_loaded_again_behind(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr(remembered.time, "monotonic", lambda: clock[0])
    numbers = remembered.Remembered(60.0, refresh_after_s=30.0)
    assert numbers.get("c1", lambda: "+15550001") == "+15550001"

    release, loads = threading.Event(), []

    def slow_load():  # intake under load: the answer takes its time
        loads.append("asked")
        release.wait(5)
        return "+15550002"

    clock[0] = 31.0
    # answered from what is kept, while the load waits; a second ask starts no second load
    assert numbers.get("c1", slow_load) == "+15550001"
    assert numbers.get("c1", slow_load) == "+15550001"
    release.set()
    _settled(numbers)
    assert loads == ["asked"]
    clock[0] = 32.0
    assert numbers.get("c1", lambda: "never asked") == "+15550002"  # the new number, kept


def test_a_value_past_its_ttl_is_loaded_by_the_caller_and_a_failed_refresh_keeps_it(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr(remembered.time, "monotonic", lambda: clock[0])
    numbers = remembered.Remembered(60.0, refresh_after_s=30.0)
    numbers.get("c1", lambda: "+15550001")

    def down():
        raise OSError("intake is away")

    clock[0] = 40.0
    assert numbers.get("c1", down) == "+15550001"  # the refresh fails behind the answer
    _settled(numbers)
    clock[0] = 59.0
    assert numbers.get("c1", down) == "+15550001"  # still kept until its ttl
    _settled(numbers)
    clock[0] = 61.0
    assert numbers.get("c1", lambda: "+15550003") == "+15550003"  # past it: loaded now
