"""A write made a moment later, together with others: one daemon thread per kind of write."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Later:
    """Runs ``flush`` on a thread of this process ``every`` seconds after ``poke`` was called,
    and sleeps while nothing was poked (a platform at rest does not wake it). Started lazily:
    after gunicorn forks, in the process that uses it."""

    def __init__(self, name: str, every: float, flush: Callable[[], None]) -> None:
        self.name, self.every, self.flush = name, every, flush
        self._poked = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def poke(self) -> None:
        """Something waits to be written: flush it within ``every`` seconds."""
        self._poked.set()
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            self._poked.wait()
            time.sleep(self.every)
            self._poked.clear()  # what is poked from here on sets it again
            self.flush()
