"""The retry schedule of a failed delivery: doubling delays, capped; urgent ones never give up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from notifications.domain.purposes import Priority


@dataclass(frozen=True)
class RetryPolicy:
    """``max_attempts=None`` never gives up: safety alerts keep trying until they are sent."""

    max_attempts: int | None = 6
    first_delay: timedelta = timedelta(seconds=5)
    max_delay: timedelta = timedelta(minutes=10)

    def next_attempt_at(self, attempts_made: int, now: datetime) -> datetime | None:
        """When to retry after ``attempts_made`` failures; ``None`` when it is time to give up."""
        if self.max_attempts is not None and attempts_made >= self.max_attempts:
            return None
        return now + self.delay(attempts_made)

    def delay(self, attempts_made: int) -> timedelta:
        """The wait after the ``attempts_made``-th failure: doubling from the first, capped."""
        delay = self.first_delay
        for _ in range(attempts_made - 1):
            if delay >= self.max_delay:
                break  # doubling further only overflows
            delay *= 2
        return min(delay, self.max_delay)

    def gives_up_after(self) -> timedelta | None:
        """How long failures are retried before the delivery fails for good (``None``: never)."""
        if self.max_attempts is None:
            return None
        return sum((self.delay(n) for n in range(1, self.max_attempts)), timedelta())


# Urgent deliveries retry sooner and never give up: an alert about a client at risk is retried
# every 30 s until the mail relay and intake answer again (ops see it on the retry metric).
URGENT_RETRY = RetryPolicy(
    max_attempts=None, first_delay=timedelta(seconds=2), max_delay=timedelta(seconds=30)
)


def retry_policies(normal: RetryPolicy) -> dict[str, RetryPolicy]:
    """One retry schedule per priority, given the normal one (configured by the worker)."""
    return {Priority.URGENT: URGENT_RETRY, Priority.NORMAL: normal}
