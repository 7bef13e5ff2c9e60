"""Identifiers: time-ordered UUIDs (version 7 layout) so ids sort by creation time.

Sorting by ``_id`` then gives stable, index-backed cursor pagination without a second key.
Within one process ids are strictly increasing, also within one millisecond (RFC 9562,
method 1: ``rand_a`` is a counter that starts at a random value each new millisecond), so an
audit trail read "oldest first" is in the order its records were written.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last = [0, 0]  # the millisecond and the counter of the last id


def new_id() -> str:
    """A UUIDv7 string: 48-bit Unix milliseconds, version, 12-bit counter, 62 random bits."""
    with _lock:
        millis = time.time_ns() // 1_000_000
        if millis > _last[0]:
            counter = int.from_bytes(os.urandom(2), "big") & 0x7FF  # room to count up
        else:
            millis, counter = _last[0], _last[1] + 1
            if counter > 0xFFF:  # more than the counter holds in one millisecond
                millis, counter = millis + 1, 0
        _last[0], _last[1] = millis, counter
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (
        (millis & ((1 << 48) - 1)) << 80
        | 0x7 << 76  # version 7
        | counter << 64
        | 0b10 << 62  # RFC 9562 variant
        | rand_b
    )
    return str(uuid.UUID(int=value))
