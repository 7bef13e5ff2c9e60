"""Values a process keeps for a while instead of reading them again (a site's settings, its
time zone, its contacts): a burst of work for one key reads once, and a change is seen within
``ttl_s``."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

log = logging.getLogger(__name__)


class Remembered:
    """``get(key, load)`` answers what ``load()`` answered less than ``ttl_s`` ago, else loads
    again. ``keep`` says which answers are kept (``None``, "not known yet", may not be); with
    ``ttl_s`` 0 nothing is kept (unit tests).

    ``refresh_after_s`` (below ``ttl_s``): a key asked for when its value is older than that is
    answered at once with the value kept and loaded again in the background, one load per key
    at a time. A key in steady use then never waits on a load (a path that must not: a crisis
    page asking another service for its clinician's number), and a change is still seen within
    ``ttl_s``. A background load that fails leaves the value kept until ``ttl_s``, when the
    next ``get`` loads it in its own time and its failure is the caller's."""

    def __init__(
        self,
        ttl_s: float,
        keep: Callable[[Any], bool] = lambda _value: True,
        refresh_after_s: float | None = None,
        now: Callable[[], float] | None = None,
    ) -> None:
        self.ttl_s = ttl_s
        self._now = now or (lambda: time.monotonic())  # (a test's own clock)
        self.keep = keep
        self.refresh_after_s = refresh_after_s
        self._values: dict[str, tuple[float, float, Any]] = {}  # key: (loaded, expires, value)
        self._loading: set[str] = set()
        self._lock = threading.Lock()
        self._loader: ThreadPoolExecutor | None = None  # made on first use: after a fork

    def get(self, key: str, load: Callable[[], Any]) -> Any:
        now = self._now()
        known = self._values.get(key)
        if known is not None and known[1] > now:
            if self.refresh_after_s is not None and now - known[0] >= self.refresh_after_s:
                self._refresh(key, load)
            return known[2]
        value = load()
        self._put(key, value, now)
        return value

    def _put(self, key: str, value: Any, loaded: float) -> None:
        if self.ttl_s and self.keep(value):
            self._values[key] = (loaded, loaded + self.ttl_s, value)

    def _refresh(self, key: str, load: Callable[[], Any]) -> None:
        with self._lock:
            if key in self._loading:
                return
            self._loading.add(key)
            if self._loader is None:
                self._loader = ThreadPoolExecutor(1, thread_name_prefix="remembered")
        self._loader.submit(self._reload, key, load)

    def _reload(self, key: str, load: Callable[[], Any]) -> None:
        try:
            started = self._now()
            self._put(key, load(), started)
        except Exception as exc:  # the kept value serves until its ttl; then a get loads
            log.warning("background reload failed", extra={"error": type(exc).__name__})
        finally:
            with self._lock:
                self._loading.discard(key)
