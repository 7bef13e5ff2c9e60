"""The composition root: which repositories, sender and contact lookup the use cases run on.

``bootstrap`` wires the processes (MongoDB repositories, SMTP, intake's site API);
``in_memory`` wires unit tests (in-memory repositories, a sender that keeps what it is given,
sites held in a dict). The api (``app``) and the worker (``worker``) go through here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pymongo.database import Database

from dbt_shared.auth import ServiceTokens
from dbt_shared.clock import Clock
from dbt_shared.config import Settings, env_int
from notifications import events, repository
from notifications.adapters import (
    EmailSender,
    InMemorySender,
    InMemorySites,
    IntakeSites,
    SiteContacts,
    SmtpSender,
    SmtpSettings,
)
from notifications.domain.quiet_hours import QUIET_HOURS, QuietHours
from notifications.domain.retries import RetryPolicy, retry_policies
from notifications.repository import Repositories


@dataclass
class Components:
    clock: Clock
    repositories: Repositories
    contacts: SiteContacts
    sender: EmailSender
    retry_policies: Mapping[str, RetryPolicy]
    """One retry schedule per priority (``retries.retry_policies``)."""
    quiet_hours: Mapping[str, QuietHours | None]
    """Each channel's local quiet hours (``quiet_hours.QUIET_HOURS``)."""


def bootstrap(
    settings: Settings | None,
    db: Database,
    clock: Clock,
    *,
    service_tokens: ServiceTokens | None = None,
    sender: EmailSender | None = None,
    contacts: SiteContacts | None = None,
) -> Components:
    """The processes' wiring on ``db``. Email goes through the SMTP relay of the ``SMTP_*``
    variables; addresses come from intake's API (``INTAKE_URL``, as this service). Normal
    deliveries are tried ``DELIVERY_MAX_ATTEMPTS`` times. ``settings`` may be ``None`` for a
    wiring that only records (the consumer side in integration tests)."""
    if service_tokens is None and settings is not None:
        service_tokens = ServiceTokens(settings.auth, events.SERVICE)
    return Components(
        clock=clock,
        repositories=repository.mongo(db),
        contacts=contacts or IntakeSites(settings, service_tokens),
        sender=sender or SmtpSender(SmtpSettings.from_env()),
        retry_policies=retry_policies(
            RetryPolicy(max_attempts=env_int("DELIVERY_MAX_ATTEMPTS", 6))
        ),
        quiet_hours=QUIET_HOURS,
    )


def in_memory(
    clock: Clock,
    *,
    quiet_hours: Mapping[str, QuietHours | None] | None = None,
    normal_retry: RetryPolicy | None = None,
) -> Components:
    """Unit tests' wiring: ``sender.sent`` lists what went out; ``contacts.sites`` holds what
    intake would answer and ``repositories.site_zones.zones`` what the site directory knows."""
    return Components(
        clock=clock,
        repositories=repository.in_memory(),
        contacts=InMemorySites(),
        sender=InMemorySender(),
        retry_policies=retry_policies(normal_retry or RetryPolicy()),
        quiet_hours=QUIET_HOURS if quiet_hours is None else quiet_hours,
    )
