"""Notifications worker: ``python -m notifications.worker``.

Consumes intake's events into inbox items and pending deliveries, sends what is due, relays its
own delivery events.
"""

from __future__ import annotations

from dbt_shared.bootstrap import service_worker
from notifications import events, handlers, repository, timers
from notifications.bootstrap import bootstrap


def main() -> None:
    service_worker(events, repository, handlers, timers, bootstrap)


if __name__ == "__main__":
    main()
