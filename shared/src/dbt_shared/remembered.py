"""Values a process keeps for a while instead of reading them again (a site's settings, its
time zone, its contacts): a burst of work for one key reads once, and a change is seen within
``ttl_s``."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


class Remembered:
    """``get(key, load)`` answers what ``load()`` answered less than ``ttl_s`` ago, else loads
    again. ``keep`` says which answers are kept (``None``, "not known yet", may not be); with
    ``ttl_s`` 0 nothing is kept (unit tests)."""

    def __init__(self, ttl_s: float, keep: Callable[[Any], bool] = lambda _value: True) -> None:
        self.ttl_s = ttl_s
        self.keep = keep
        self._values: dict[str, tuple[float, Any]] = {}

    def get(self, key: str, load: Callable[[], Any]) -> Any:
        now = time.monotonic()
        known = self._values.get(key)
        if known is not None and known[0] > now:
            return known[1]
        value = load()
        if self.ttl_s and self.keep(value):
            self._values[key] = (now + self.ttl_s, value)
        return value
