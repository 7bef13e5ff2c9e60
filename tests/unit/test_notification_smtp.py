"""The SMTP sender against a relay on this machine that speaks STARTTLS (or not): the relay's
certificate and host name are verified before a message leaves, and plain text is sent only
where it is configured (``SMTP_SECURITY=plain``, the local mail catcher)."""

from __future__ import annotations

import socketserver
import ssl
import threading
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from dbt_shared.config import ConfigError
from notifications.adapters import Email, SmtpSender, SmtpSettings
from notifications.domain.deliveries import TransientFailure

EMAIL = Email(
    to="intake@site.example", subject="New referral", body="A referral.", delivery_id="d1"
)


def _certificate(tmp_path, name: str) -> tuple[str, str]:
    """A self-signed certificate for ``name`` (its own CA): cert file, key file."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "relay.pem", tmp_path / "relay.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_file), str(key_file)


class Relay(socketserver.ThreadingTCPServer):
    """Enough of an SMTP relay: EHLO (offering STARTTLS when it has a certificate), STARTTLS,
    MAIL, RCPT, DATA, QUIT. ``received`` holds each message's bytes and whether it came
    encrypted."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, tls: ssl.SSLContext | None) -> None:
        self.tls = tls
        self.received: list[tuple[bytes, bool]] = []
        super().__init__(("127.0.0.1", 0), _Session)
        threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def port(self) -> int:
        return self.server_address[1]


class _Session(socketserver.BaseRequestHandler):
    server: Relay

    def handle(self) -> None:
        sock, encrypted = self.request, False
        reader = sock.makefile("rb")

        def say(line: str) -> None:
            sock.sendall(line.encode() + b"\r\n")

        say("220 relay.test ESMTP")
        while line := reader.readline():
            verb = line.strip().split(b" ")[0].upper()
            if verb in (b"EHLO", b"HELO"):
                offer = self.server.tls is not None and not encrypted
                say("250-relay.test" if offer else "250 relay.test")
                if offer:
                    say("250 STARTTLS")
            elif verb == b"STARTTLS" and self.server.tls is not None:
                say("220 go ahead")
                try:
                    sock = self.server.tls.wrap_socket(sock, server_side=True)
                except (ssl.SSLError, OSError):
                    return  # the client refused the certificate
                reader, encrypted = sock.makefile("rb"), True
            elif verb == b"DATA":
                say("354 end with .")
                data = b""
                while (chunk := reader.readline()) not in (b".\r\n", b""):
                    data += chunk
                self.server.received.append((data, encrypted))
                say("250 queued")
            elif verb == b"QUIT":
                say("221 bye")
                return
            else:
                say("250 ok")


@pytest.fixture
def relay_tls(tmp_path):
    cert_file, key_file = _certificate(tmp_path, "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    relay = Relay(context)
    yield relay, cert_file
    relay.shutdown()
    relay.server_close()


def _settings(monkeypatch, port: int, **env: str) -> SmtpSettings:
    for name in ("SMTP_SECURITY", "SMTP_CA_FILE", "SMTP_USERNAME", "SMTP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SMTP_PORT", str(port))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return SmtpSettings.from_env()


def test_by_default_the_relay_must_prove_who_it_is_before_a_message_leaves(monkeypatch, relay_tls):
    relay, _cert = relay_tls  # a certificate no trusted CA signed
    settings = _settings(monkeypatch, relay.port, SMTP_HOST="localhost")
    assert settings.security == "starttls"
    with pytest.raises(TransientFailure, match="SSLCertVerificationError"):
        SmtpSender(settings).send(EMAIL)
    assert relay.received == []


def test_a_relay_whose_certificate_names_another_host_gets_nothing(monkeypatch, relay_tls):
    relay, cert = relay_tls  # trusted (its CA configured), but issued to "localhost"
    settings = _settings(monkeypatch, relay.port, SMTP_HOST="127.0.0.1", SMTP_CA_FILE=cert)
    with pytest.raises(TransientFailure, match="SSLCertVerificationError"):
        SmtpSender(settings).send(EMAIL)
    assert relay.received == []


def test_a_verified_relay_gets_the_message_encrypted(monkeypatch, relay_tls):
    relay, cert = relay_tls
    settings = _settings(monkeypatch, relay.port, SMTP_HOST="localhost", SMTP_CA_FILE=cert)
    SmtpSender(settings).send(EMAIL)
    [(data, encrypted)] = relay.received
    assert encrypted and b"New referral" in data


def test_plain_text_only_where_configured(monkeypatch):
    relay = Relay(None)  # offers no STARTTLS, like Mailpit
    try:
        default = _settings(monkeypatch, relay.port, SMTP_HOST="127.0.0.1")
        with pytest.raises(TransientFailure, match="SMTPNotSupportedError"):
            SmtpSender(default).send(EMAIL)
        assert relay.received == []
        plain = _settings(monkeypatch, relay.port, SMTP_HOST="127.0.0.1", SMTP_SECURITY="plain")
        SmtpSender(plain).send(EMAIL)
        [(_data, encrypted)] = relay.received
        assert not encrypted
    finally:
        relay.shutdown()
        relay.server_close()


def test_an_unknown_security_mode_is_refused_at_start(monkeypatch):
    with pytest.raises(ConfigError, match="SMTP_SECURITY"):
        _settings(monkeypatch, 25, SMTP_SECURITY="none")
