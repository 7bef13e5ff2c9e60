"""The composition root: which repositories, sender and contact lookup the use cases run on.

``bootstrap`` wires the processes (the process's ``storage`` and MongoDB repositories, SMTP,
intake's site API); ``in_memory`` wires unit tests (in-memory repositories, a sender that keeps
what it is given, sites held in a dict). The api (``app``) and the worker (``worker``) go
through here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pymongo.database import Database

from dbt_shared.bootstrap import process_storage
from dbt_shared.clock import Clock, SystemClock
from dbt_shared.config import Settings, env, env_int
from dbt_shared.storage.context import Storage
from dbt_shared.tokens import ServiceTokens
from notifications import events, repository
from notifications.adapters import (
    EmailSender,
    InMemorySender,
    InMemorySessions,
    InMemorySites,
    InMemorySms,
    IntakeSites,
    SiteContacts,
    SkillsSessions,
    SmsSender,
    SmsSettings,
    SmtpSender,
    SmtpSettings,
    TwilioSms,
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
    sms: SmsSender
    sessions: SkillsSessions
    """Skills-group's calendar, asked at the moment reminders are planned."""
    number_pepper: str
    """Salt of the opt-out keys (``SMS_NUMBER_PEPPER``): numbers are never stored."""
    sms_auth_token: str | None
    """The provider's auth token: the inbound webhook's signatures are checked with it."""
    retry_policies: Mapping[str, RetryPolicy]
    """One retry schedule per priority (``retries.retry_policies``)."""
    quiet_hours: Mapping[str, QuietHours | None]
    """Each channel's local quiet hours (``quiet_hours.QUIET_HOURS``)."""
    storage: Storage | None = None
    """What the process's writes share (``dbt_shared.storage.context``); in memory: none."""


def bootstrap(db: Database | None = None, clock: Clock | None = None) -> Components:
    """For the processes, as in every service: MongoDB from the environment (the worker passes
    its own), email through the ``SMTP_*`` relay, addresses from intake's API and the calendar
    from skills-group's, as this service; the system clock."""
    settings = Settings.from_env(events.SERVICE)
    return wire(process_storage(events.SERVICE, db), clock or SystemClock(), settings=settings)


def wire(
    storage: Storage,
    clock: Clock,
    *,
    settings: Settings | None = None,
    sender: EmailSender | None = None,
    contacts: SiteContacts | None = None,
) -> Components:
    """The processes' parts on ``storage``. Normal deliveries are tried
    ``DELIVERY_MAX_ATTEMPTS`` times. Without ``settings``, a wiring that only records (the
    consumer side in integration tests): intake and skills-group are not asked."""
    service_tokens = ServiceTokens(settings.auth, events.SERVICE) if settings else None
    sms_settings = SmsSettings.from_env()
    return Components(
        clock=clock,
        repositories=repository.mongo(storage, clock),
        contacts=contacts or IntakeSites(settings, service_tokens),
        sender=sender or SmtpSender(SmtpSettings.from_env()),
        sms=TwilioSms(sms_settings),
        sessions=SkillsSessions(settings, service_tokens),
        number_pepper=env("SMS_NUMBER_PEPPER", "dbt-platform-opt-outs"),
        sms_auth_token=sms_settings.auth_token if sms_settings else None,
        retry_policies=retry_policies(
            RetryPolicy(max_attempts=env_int("DELIVERY_MAX_ATTEMPTS", 6))
        ),
        quiet_hours=QUIET_HOURS,
        storage=storage,
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
        repositories=repository.in_memory(clock),
        contacts=InMemorySites(),
        sender=InMemorySender(),
        sms=InMemorySms(),
        sessions=InMemorySessions(),
        number_pepper="test-pepper",
        sms_auth_token="test-token",  # noqa: S106 - the unit tests' webhook signing key
        retry_policies=retry_policies(normal_retry or RetryPolicy()),
        quiet_hours=QUIET_HOURS if quiet_hours is None else quiet_hours,
    )
