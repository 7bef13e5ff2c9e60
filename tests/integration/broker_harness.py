"""What the in-process tests of the event backbone share: notifications' real handlers and a
consumer runner on a thread of the test (``test_outbox_and_consumer``,
``test_consumer_on_broker``; their ``topics`` and ``publisher`` fixtures are in this folder's
conftest)."""

from __future__ import annotations

import threading

from dbt_shared.clock import SystemClock
from dbt_shared.contracts import CATALOG, intake
from dbt_shared.events.consumer import ConsumerRunner
from dbt_shared.storage.context import Storage
from notifications import bootstrap as notification_bootstrap
from notifications import handlers as notification_handlers

CLOCK = SystemClock()


TOPIC = intake.TOPIC.name


def notification_handlers_on(db) -> dict:
    """Notifications' real handlers, recording into ``db`` (nothing is sent in these tests)."""
    return notification_handlers.handlers(notification_bootstrap.wire(Storage(db), CLOCK))


class RunningConsumer:
    def __init__(self, runner: ConsumerRunner) -> None:
        self.runner = runner
        self.thread = threading.Thread(target=runner.run, daemon=True)

    def __enter__(self) -> ConsumerRunner:
        self.thread.start()
        return self.runner

    def __exit__(self, *exc) -> None:
        self.runner.stop()
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "consumer did not stop on request"


def consumer(infra, db, publisher, handlers, group: str, **kwargs) -> RunningConsumer:
    return RunningConsumer(
        ConsumerRunner(
            service="test",
            bootstrap_servers=infra.kafka_bootstrap,
            db=db,
            clock=CLOCK,
            handlers=handlers,
            publisher=publisher,
            catalog=CATALOG,
            group_id=group,
            **kwargs,
        )
    )
