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
import ssl
import threading
from dataclasses import dataclass, field
from email.header import Header
from email.mime.text import MIMEText
from email.utils import parseaddr
from functools import partial
from typing import Any, Protocol

import requests

from dbt_shared import correlation
from dbt_shared.config import ConfigError, Settings, env, env_int
from dbt_shared.remembered import Remembered
from dbt_shared.tokens import ServiceTokens
from notifications.domain.deliveries import PermanentFailure, TransientFailure


@dataclass(frozen=True)
class Email:
    """One message to send: the text is generic (``domain.messages``), the address intake's."""

    to: str
    subject: str
    body: str
    delivery_id: str
    urgent: bool = False
    key: str = ""  # the attempt's (``dispatch.send_key``): its Message-ID, kept on a resend


class EmailSender(Protocol):
    def send(self, email: Email) -> None: ...


@dataclass(frozen=True)
class Sms:
    """One text message: a generic body (``domain.texts``), the number intake's."""

    to: str
    body: str
    delivery_id: str
    key: str = ""  # the attempt's (``dispatch.send_key``): its Idempotency-Key, kept on a resend


class SmsSender(Protocol):
    def send(self, sms: Sms) -> str:
        """Send ``sms``; answers the provider's status (``queued``...)."""
        ...


class SiteContacts(Protocol):
    def site(self, site_id: str) -> dict[str, Any]:
        """Intake's site (intake email, clinical lead) as intake answers it now."""
        ...

    def person(self, kind: str, person_id: str) -> dict[str, Any]:
        """A client's or a clinician's channels as intake answers them now
        (``{"channels": {"email": ..., "sms": ...}, "timezone", ...}``)."""
        ...


# -- SMTP ----------------------------------------------------------------------------------------
#: How the connection to the relay is secured (``SMTP_SECURITY``): ``starttls`` (the default:
#: submission on 587, upgraded before anything is said), ``tls`` (implicit TLS, 465), or
#: ``plain``, only for a local mail catcher (the dev and test stacks' Mailpit set it). Both TLS
#: modes verify the relay's certificate and host name; there is no fallback to plain text.
SECURITY_MODES = ("starttls", "tls", "plain")


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    security: str
    username: str | None
    password: str | None
    ca_file: str | None = None  # ``SMTP_CA_FILE``, a private relay's CA; else the system's

    def __post_init__(self) -> None:
        if self.security not in SECURITY_MODES:
            raise ConfigError(f"SMTP_SECURITY must be one of {', '.join(SECURITY_MODES)}")

    @classmethod
    def from_env(cls) -> SmtpSettings:
        return cls(
            host=env("SMTP_HOST", "127.0.0.1"),
            port=env_int("SMTP_PORT", 587),
            sender=env("SMTP_FROM", "DBT Platform <no-reply@dbt-platform.local>"),
            security=env("SMTP_SECURITY", "starttls").strip().lower(),
            username=os.environ.get("SMTP_USERNAME") or None,
            password=os.environ.get("SMTP_PASSWORD") or None,
            ca_file=os.environ.get("SMTP_CA_FILE") or None,
        )

    def tls_context(self) -> ssl.SSLContext:
        """Certificate and host name verified (``ssl.create_default_context``: CERT_REQUIRED,
        ``check_hostname``), TLS 1.2 at least."""
        context = ssl.create_default_context(cafile=self.ca_file)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context


class SmtpSender:
    """Sends over one SMTP connection kept open between messages (a backlog of deliveries
    does not open a connection each); a connection the server has closed is opened again.
    A relay whose certificate or name does not verify, or that offers no STARTTLS, gets
    nothing: the delivery is retried (``TransientFailure``), never sent in the clear."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._client: smtplib.SMTP | None = None
        self._lock = threading.Lock()

    def _connect(self) -> smtplib.SMTP:
        smtp = self.settings
        client: smtplib.SMTP
        if smtp.security == "tls":
            client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=10, context=smtp.tls_context())
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=10)
        try:
            if smtp.security == "starttls":
                client.starttls(context=smtp.tls_context())  # raises if it is not offered
            if smtp.username and smtp.password:
                client.login(smtp.username, smtp.password)
        except BaseException:
            with contextlib.suppress(OSError):
                client.close()
            raise
        return client

    def _drop(self) -> None:
        if self._client is not None:
            with contextlib.suppress(OSError):
                self._client.close()
        self._client = None

    def send(self, email: Email) -> None:
        message = _mime(self.settings.sender, email)
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
            except OSError as exc:  # socket and TLS errors, and every SMTPException
                self._drop()
                raise TransientFailure(type(exc).__name__) from exc


def _mime(sender: str, email: Email) -> MIMEText:
    """A plain-text UTF-8 message. Built with the ``compat32`` classes: the ``EmailMessage`` of
    the default policy parses every header it is given, six times the cost for the same bytes."""
    message = MIMEText(email.body, "plain", "utf-8")
    message["From"] = sender
    message["To"] = email.to
    message["Subject"] = (
        email.subject if email.subject.isascii() else Header(email.subject, "utf-8")
    )
    message["X-DBT-Delivery-Id"] = email.delivery_id
    if email.key:  # stable across a resend after a crash: mail clients show one message
        domain = parseaddr(sender)[1].rpartition("@")[2] or "dbt-platform.local"
        message["Message-ID"] = f"<{email.key}@{domain}>"
    if email.urgent:
        message["Importance"] = "high"
        message["X-Priority"] = "1"
    return message


# -- SMS (a Twilio-compatible REST API) -----------------------------------------------------------
@dataclass(frozen=True)
class SmsSettings:
    base_url: str
    account_sid: str
    auth_token: str
    sender: str

    @classmethod
    def from_env(cls) -> SmsSettings | None:
        """``SMS_BASE_URL``, ``SMS_ACCOUNT_SID``, ``SMS_AUTH_TOKEN``, ``SMS_FROM``; ``None``
        when no provider is configured (SMS deliveries then fail for good, named so)."""
        sid, token = os.environ.get("SMS_ACCOUNT_SID"), os.environ.get("SMS_AUTH_TOKEN")
        if not sid or not token:
            return None
        return cls(
            base_url=env("SMS_BASE_URL", "https://api.twilio.com").rstrip("/"),
            account_sid=sid,
            auth_token=token,
            sender=env("SMS_FROM", "+15005550006"),
        )


class TwilioSms:
    """``POST /2010-04-01/Accounts/{sid}/Messages.json`` (form-encoded, basic auth) over one
    keep-alive session, with the attempt's ``Idempotency-Key`` header (the local sink honours
    it: a repeat answers the message first accepted; a provider that does not ignores it). A
    4xx other than 429 is the message's fault (a bad number): permanent; anything else may
    pass on a retry."""

    def __init__(self, settings: SmsSettings | None) -> None:
        self.settings = settings
        self._session = requests.Session()
        self._lock = threading.Lock()

    def send(self, sms: Sms) -> str:
        if self.settings is None:
            raise PermanentFailure("no SMS provider configured")
        s = self.settings
        try:
            with self._lock:
                response = self._session.post(
                    f"{s.base_url}/2010-04-01/Accounts/{s.account_sid}/Messages.json",
                    data={"To": sms.to, "From": s.sender, "Body": sms.body},
                    headers={"Idempotency-Key": sms.key} if sms.key else None,
                    auth=(s.account_sid, s.auth_token),
                    timeout=10,
                )
        except OSError as exc:
            raise TransientFailure(type(exc).__name__) from exc
        if response.status_code in (200, 201):
            return str(response.json().get("status") or "queued")
        code = _provider_code(response)
        if 400 <= response.status_code < 500 and response.status_code != 429:
            raise PermanentFailure(f"provider refused ({response.status_code}, code {code})")
        raise TransientFailure(f"provider answered {response.status_code}")


def _provider_code(response: requests.Response) -> str:
    try:
        return str(response.json().get("code"))
    except ValueError:
        return "none"


# -- intake's site API ---------------------------------------------------------------------------
SITE_TTL_S = 60.0


class IntakeSites:
    """``GET /v1/sites/{id}`` of intake, as this service (role ``service``), with the request id
    of the chain that caused the delivery."""

    def __init__(self, settings: Settings | None, tokens: ServiceTokens | None) -> None:
        self.settings = settings
        self.tokens = tokens
        self._local = threading.local()  # one keep-alive session per thread
        # read again in the background after half their time: a page never waits on intake
        self._sites = Remembered(SITE_TTL_S, refresh_after_s=SITE_TTL_S / 2)
        self._clinicians = Remembered(SITE_TTL_S, refresh_after_s=SITE_TTL_S / 2)

    def site(self, site_id: str) -> dict[str, Any]:
        """The site as intake answers it, remembered (a changed address used within a minute)."""
        return dict(self._sites.get(site_id, lambda: self._fetch(site_id)))

    def person(self, kind: str, person_id: str) -> dict[str, Any]:
        """``GET /v1/clients/{id}/contact`` (never kept) or ``/v1/clinicians/{id}/contact``."""
        path = "clients" if kind == "client" else "clinicians"
        ask = partial(self._get, f"/v1/{path}/{person_id}/contact", f"{kind} unknown to intake")
        return ask() if kind == "client" else dict(self._clinicians.get(person_id, ask))

    def _fetch(self, site_id: str) -> dict[str, Any]:
        return self._get(f"/v1/sites/{site_id}", "site unknown to intake")

    def _get(self, path: str, unknown: str) -> dict[str, Any]:
        if self.settings is None or self.tokens is None:
            raise ConfigError("no intake address or service credentials configured")
        base_url = self.settings.service_url("intake")
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        try:
            response = session.get(
                f"{base_url}{path}",
                headers={
                    "Authorization": f"Bearer {self.tokens.token()}",
                    correlation.REQUEST_ID_HEADER: correlation.current() or "",
                },
                timeout=10,
            )
            if response.status_code == 404:
                raise PermanentFailure(unknown)
            response.raise_for_status()
            return response.json()
        except OSError as exc:  # every requests error, and a token that could not be had
            raise TransientFailure(type(exc).__name__) from exc


class SkillsSessions:
    """``GET /v1/groups/{id}/sessions?from=&to=`` of skills-group, as this service: the
    calendar at the moment reminders are planned (it is skills-group's to keep)."""

    def __init__(self, settings: Settings | None, tokens: ServiceTokens | None) -> None:
        self.settings = settings
        self.tokens = tokens
        self._session = requests.Session()
        self._lock = threading.Lock()

    def sessions(self, group_id: str, first: str, last: str) -> list[dict[str, Any]]:
        if self.settings is None or self.tokens is None or not self._configured():
            # Not the event's fault: the plan is tried again hourly (and the handler moves on).
            raise TransientFailure("no skills-group address or service credentials configured")
        try:
            with self._lock:
                response = self._session.get(
                    f"{self.settings.service_url('skills-group')}/v1/groups/{group_id}/sessions",
                    params={"from": first, "to": last},
                    headers={"Authorization": f"Bearer {self.tokens.token()}"},
                    timeout=10,
                )
        except OSError as exc:
            raise TransientFailure(type(exc).__name__) from exc
        if response.status_code == 404:
            return []
        if response.status_code != 200:
            raise TransientFailure(f"skills-group answered {response.status_code}")
        return response.json()["items"]  # one page: a group's calendar is bounded

    def _configured(self) -> bool:
        try:
            self.settings.service_url("skills-group")  # type: ignore[union-attr]
        except ConfigError:
            return False
        return True


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
class InMemorySessions:
    """Skills-group's sessions by group, as its api would answer them."""

    by_group: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def sessions(self, group_id: str, first: str, last: str) -> list[dict[str, Any]]:
        return [s for s in self.by_group.get(group_id, []) if first <= s["date"] <= last]


@dataclass
class InMemorySms:
    """Keeps the text messages it was given; ``failures`` are raised first, one per send."""

    sent: list[Sms] = field(default_factory=list)
    failures: list[Exception] = field(default_factory=list)

    def send(self, sms: Sms) -> str:
        if self.failures:
            exc = self.failures.pop(0)
            raise TransientFailure(type(exc).__name__) from exc
        self.sent.append(sms)
        return "queued"


@dataclass
class InMemorySites:
    """Intake's sites, clients and clinicians by id, as intake would answer them."""

    sites: dict[str, dict[str, Any]] = field(default_factory=dict)
    people: dict[str, dict[str, Any]] = field(default_factory=dict)

    def site(self, site_id: str) -> dict[str, Any]:
        if site_id not in self.sites:
            raise PermanentFailure("site unknown to intake")
        return dict(self.sites[site_id])

    def person(self, kind: str, person_id: str) -> dict[str, Any]:
        if person_id not in self.people:
            raise PermanentFailure(f"{kind} unknown to intake")
        return dict(self.people[person_id])
