"""What notifications talks to when it sends: an SMTP relay for email and intake's site API for
the addresses (contact details are asked for at send time, never stored or put in an event).

Each has an in-memory stand-in for unit tests; ``bootstrap`` chooses. The real ones turn the
errors retrying may cure into ``TransientFailure`` (named by the error's kind only) and an
unknown site into ``PermanentFailure``; anything else is a bug and propagates.
"""

from __future__ import annotations

import contextlib
import os
import smtplib
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage as MimeMessage
from typing import Any, Protocol

import requests

from dbt_shared import correlation
from dbt_shared.auth import ServiceTokens
from dbt_shared.config import ConfigError, Settings, env, env_int
from notifications.domain.deliveries import PermanentFailure, TransientFailure


@dataclass(frozen=True)
class Email:
    """One message to send: the text is generic (``domain.messages``), the address intake's."""

    to: str
    subject: str
    body: str
    delivery_id: str
    urgent: bool = False


class EmailSender(Protocol):
    def send(self, email: Email) -> None: ...


class SiteContacts(Protocol):
    def site(self, site_id: str) -> dict[str, Any]:
        """Intake's site (intake email, clinical lead) as intake answers it now."""
        ...


# -- SMTP ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    starttls: bool
    username: str | None
    password: str | None

    @classmethod
    def from_env(cls) -> SmtpSettings:
        return cls(
            host=env("SMTP_HOST", "127.0.0.1"),
            port=env_int("SMTP_PORT", 1025),
            sender=env("SMTP_FROM", "DBT Platform <no-reply@dbt-platform.local>"),
            starttls=env("SMTP_STARTTLS", "false").lower() == "true",
            username=os.environ.get("SMTP_USERNAME") or None,
            password=os.environ.get("SMTP_PASSWORD") or None,
        )


class SmtpSender:
    """Sends over one SMTP connection kept open between messages (a backlog of deliveries
    does not open a connection each); a connection the server has closed is opened again."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._client: smtplib.SMTP | None = None
        self._lock = threading.Lock()

    def _connect(self) -> smtplib.SMTP:
        smtp = self.settings
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=10)
        if smtp.starttls:
            client.starttls()
        if smtp.username and smtp.password:
            client.login(smtp.username, smtp.password)
        return client

    def _drop(self) -> None:
        if self._client is not None:
            with contextlib.suppress(OSError):
                self._client.close()
        self._client = None

    def send(self, email: Email) -> None:
        smtp = self.settings
        message = MimeMessage()
        message["From"] = smtp.sender
        message["To"] = email.to
        message["Subject"] = email.subject
        message["X-DBT-Delivery-Id"] = email.delivery_id
        if email.urgent:
            message["Importance"] = "high"
            message["X-Priority"] = "1"
        message.set_content(email.body)
        with self._lock:
            try:
                if self._client is not None:
                    try:
                        self._client.send_message(message)
                        return
                    except smtplib.SMTPServerDisconnected:  # closed while idle: nothing sent
                        self._drop()
                self._client = self._connect()
                self._client.send_message(message)
            except OSError as exc:  # socket errors and every SMTPException
                self._drop()
                raise TransientFailure(type(exc).__name__) from exc


# -- intake's site API ---------------------------------------------------------------------------
SITE_TTL_S = 60.0


class IntakeSites:
    """``GET /v1/sites/{id}`` of intake, as this service (role ``service``), with the request id
    of the chain that caused the delivery."""

    def __init__(self, settings: Settings | None, tokens: ServiceTokens | None) -> None:
        self.settings = settings
        self.tokens = tokens
        self._local = threading.local()  # one keep-alive session per thread
        self._cache: dict[str, tuple[float, dict[str, Any]]] = {}

    def site(self, site_id: str) -> dict[str, Any]:
        """The site as intake answers it, remembered for ``SITE_TTL_S`` (a burst of deliveries
        for one site asks once; a changed address is used within a minute)."""
        now = time.monotonic()
        cached = self._cache.get(site_id)
        if cached is not None and cached[0] > now:
            return dict(cached[1])
        site = self._fetch(site_id)
        self._cache[site_id] = (now + SITE_TTL_S, site)
        return dict(site)

    def _fetch(self, site_id: str) -> dict[str, Any]:
        if self.settings is None or self.tokens is None:
            raise ConfigError("no intake address or service credentials configured")
        base_url = self.settings.service_url("intake")
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        try:
            response = session.get(
                f"{base_url}/v1/sites/{site_id}",
                headers={
                    "Authorization": f"Bearer {self.tokens.token()}",
                    correlation.REQUEST_ID_HEADER: correlation.current() or "",
                },
                timeout=10,
            )
            if response.status_code == 404:
                raise PermanentFailure("site unknown to intake")
            response.raise_for_status()
            return response.json()
        except OSError as exc:  # every requests error, and a token that could not be had
            raise TransientFailure(type(exc).__name__) from exc


# -- stand-ins for unit tests --------------------------------------------------------------------
@dataclass
class InMemorySender:
    """Keeps what it was given to send; ``failures`` are raised, one per send, before any is
    kept (a relay that is down: ``[ConnectionRefusedError()] * 3``)."""

    sent: list[Email] = field(default_factory=list)
    failures: list[Exception] = field(default_factory=list)

    def send(self, email: Email) -> None:
        if self.failures:
            exc = self.failures.pop(0)
            raise TransientFailure(type(exc).__name__) from exc
        self.sent.append(email)


@dataclass
class InMemorySites:
    """Intake's sites by id, as intake would answer them."""

    sites: dict[str, dict[str, Any]] = field(default_factory=dict)

    def site(self, site_id: str) -> dict[str, Any]:
        if site_id not in self.sites:
            raise PermanentFailure("site unknown to intake")
        return dict(self.sites[site_id])
