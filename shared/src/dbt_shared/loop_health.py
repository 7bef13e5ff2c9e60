"""How long each worker loop has been in its current pass, for the worker's readiness.

A loop that raises is seen at once (``dbt_shared.worker``'s failing loops), but one that hangs
raises nothing: a relay blocked in a publish that never returns, a consumer lane whose handler
waits for ever on a call, a batch retried while its database stays away. Each loop marks when a
pass begins and when it ends (a consumer lane, which never rests between polls, only begins
them); a loop in the same pass for longer than the stall limit (``WORKER_STALL_S``) is stuck,
and the worker's ``/readyz`` names it. A loop waiting for its next pass is never stuck, however
long its interval (housekeeping runs hourly).

Exported as ``dbt_worker_loop_busy_seconds{service,loop}`` (0 while waiting), refreshed each time
readiness is asked (each ``/readyz`` and each scrape).

A worker's ``LoopPasses`` is built where the worker is (``dbt_shared.worker.run_worker``, on its
``WorkerContext``) and handed to its relay and consumer lanes: no module holds one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class LoopPasses:
    """When each loop's current pass began, and which loops failed their last pass (a broker or
    database outage: ``failing``); thread-safe for one writer per loop (each loop is its own
    thread) and any number of readers."""

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self._since: dict[str, float] = {}
        self.failing: set[str] = set()

    def begin(self, loop: str) -> None:
        """A pass of ``loop`` begins now (a consumer lane: each poll)."""
        self._since[loop] = self._now()

    def end(self, loop: str) -> None:
        """``loop``'s pass is over: it waits for the next one."""
        self._since.pop(loop, None)

    @contextmanager
    def busy(self, loop: str) -> Iterator[None]:
        self.begin(loop)
        try:
            yield
        finally:
            self.end(loop)

    def busy_for(self, loop: str) -> float:
        """Seconds ``loop`` has been in its current pass; 0 while it waits."""
        since = self._since.get(loop)
        return 0.0 if since is None else max(self._now() - since, 0.0)

    def stuck(self, limit_s: float) -> set[str]:
        """The loops in one pass for longer than ``limit_s``."""
        return {loop for loop in list(self._since) if self.busy_for(loop) > limit_s}
