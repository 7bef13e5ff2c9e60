"""SMS sink: a local stand-in for Twilio's Messages API, the SMS counterpart of Mailpit.

``python -m devstack.sms_sink --listen 127.0.0.1:8030 --account-sid AC... --auth-token ...
[--store FILE]`` serves:

* ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` (form-encoded ``To``, ``From`` or
  ``MessagingServiceSid``, ``Body``; HTTP basic auth AccountSid:AuthToken): answers 201 with a
  Twilio-shaped Message resource (``status`` "queued") and keeps the message. Errors are
  Twilio's JSON errors: 401 (code 20003), 404 (20404), 400 (21604 no ``To``, 21603 no
  ``From``, 21602 no ``Body``). A request with an ``Idempotency-Key`` header that an earlier
  accepted message carried is not kept again: it answers that message (the platform sends
  each attempt under one key, so an attempt repeated after a crash arrives once).
* ``GET /api/messages[?to=+1...]``: what arrived, oldest first:
  ``[{"sid", "to", "from", "body", "received_at"}]``. ``DELETE /api/messages`` forgets it all.
* ``GET /healthz``: 200 ``ok``.

At most :data:`~devstack.sms_store.MAX_MESSAGES` are kept (the oldest go first). With
``--store`` each message is also appended to that file as a JSON line, and the file is read at
start, so a restart keeps them (the store: :mod:`devstack.sms_store`). The log (stderr) has one
line per request: method, path, status, time; never a phone number or a message body.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hmac
import json
import re
import signal
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from .sms_store import MessageStore

API_VERSION = "2010-04-01"
#: Largest request body accepted (Twilio caps a body at 1600 characters).
MAX_REQUEST_BYTES = 64 * 1024
_MESSAGES_PATH = re.compile(rf"^/{API_VERSION}/Accounts/([^/]+)/Messages\.json$")
#: The GSM 03.38 basic character set; ``_GSM_EXTENDED`` characters take two septets.
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = set("^{}\\[~]|€\f")


def num_segments(body: str) -> int:
    """SMS segments of ``body``: GSM-7 160 (153 per part), otherwise UCS-2 70 (67 per part)."""
    if all(ch in _GSM_BASIC or ch in _GSM_EXTENDED for ch in body):
        units, single, part = sum(2 if ch in _GSM_EXTENDED else 1 for ch in body), 160, 153
    else:
        units = sum(2 if ord(ch) > 0xFFFF else 1 for ch in body)  # UTF-16 code units
        single, part = 70, 67
    return 1 if units <= single else -(-units // part)


def _number(value: str) -> str:
    """A form's phone number; a leading space is an unescaped ``+`` (``curl -d To=+1...``)."""
    stripped = value.strip()
    return "+" + stripped if value.startswith(" ") and stripped[:1].isdigit() else stripped


def _error(code: int, message: str, status: int) -> dict:
    return {"code": code, "message": message, "status": status}


class SinkHandler(BaseHTTPRequestHandler):
    server: SinkServer
    server_version = "devstack-sms-sink"
    protocol_version = "HTTP/1.1"
    timeout = 30  # seconds a connection may sit idle or send its body

    def version_string(self) -> str:
        return self.server_version

    # -- routing ---------------------------------------------------------------------------

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/healthz":
            self._send(200, b"ok", "text/plain; charset=utf-8")
        elif url.path == "/api/messages":
            to = parse_qs(url.query).get("to", [None])[0]
            fields = ("sid", "to", "from", "body", "received_at")
            listing = [{k: m.get(k) for k in fields} for m in self.server.store.list(to)]
            self._json(200, listing)
        else:
            self._not_found(url.path)

    def do_DELETE(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/api/messages":
            self.server.store.clear()
            self._send(204, b"", None)
        else:
            self._not_found(url.path)

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        match = _MESSAGES_PATH.match(url.path)
        form = self._read_form()
        if form is None:
            return
        if match is None:
            self._not_found(url.path)
            return
        if not self._authorized():
            self._json(401, _error(20003, "Authenticate", 401), authenticate=True)
            return
        if match.group(1) != self.server.account_sid:
            self._not_found(url.path)
            return
        self._create_message(form)

    def _create_message(self, form: dict[str, str]) -> None:
        to, sender = _number(form.get("To", "")), _number(form.get("From", ""))
        service_sid = form.get("MessagingServiceSid", "").strip()
        body = form.get("Body", "")
        if not to:
            self._json(400, _error(21604, "A 'To' phone number is required.", 400))
            return
        if not sender and not service_sid:
            self._json(400, _error(21603, "A 'From' phone number is required.", 400))
            return
        if not body:
            self._json(400, _error(21602, "Message body is required.", 400))
            return
        now = datetime.now(UTC)
        sid = "SM" + uuid.uuid4().hex
        kept = self.server.store.add(
            {
                "sid": sid,
                "to": to,
                "from": sender or None,
                "messaging_service_sid": service_sid or None,
                "body": body,
                "received_at": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "idempotency_key": self.headers.get("Idempotency-Key") or None,
            }
        )
        if kept["sid"] != sid:  # a repeat of an accepted request: the message it made
            sid, to, body = kept["sid"], kept["to"], kept["body"]
            sender, service_sid = kept["from"] or "", kept["messaging_service_sid"] or ""
            now = datetime.fromisoformat(kept["received_at"].replace("Z", "+00:00"))
        self._json(201, self.server.message_resource(sid, to, sender, service_sid, body, now))

    # -- request and response helpers ------------------------------------------------------

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, sep, password = base64.b64decode(encoded.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return bool(sep) and all(
            hmac.compare_digest(a.encode(), b.encode())
            for a, b in ((user, self.server.account_sid), (password, self.server.auth_token))
        )

    def _read_form(self) -> dict[str, str] | None:
        """The form-encoded body (first value of each field); None after answering 400/413."""
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_REQUEST_BYTES:
            self.close_connection = True
            status = 400 if length < 0 else 413
            self._json(status, _error(20001, "Invalid request body", status))
            return None
        raw = self.rfile.read(length).decode("utf-8", errors="replace")
        return {key: values[0] for key, values in parse_qs(raw, keep_blank_values=True).items()}

    def _not_found(self, path: str) -> None:
        message = f"The requested resource {path} was not found"
        self._json(404, _error(20404, message, 404))

    def _json(self, status: int, payload, *, authenticate: bool = False) -> None:
        headers = {"WWW-Authenticate": 'Basic realm="Twilio API"'} if authenticate else {}
        body = json.dumps(payload, ensure_ascii=False).encode()
        self._send(status, body, "application/json; charset=utf-8", headers)

    def _send(
        self, status: int, body: bytes, content_type: str | None, headers: dict | None = None
    ) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    # -- logging: one line per request, no phone numbers, no bodies ------------------------

    def log_request(self, code="-", size="-") -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        path = urlsplit(self.path).path if hasattr(self, "path") else "-"
        sys.stderr.write(f"{stamp} sms-sink {self.command or '-'} {path} {code}\n")
        sys.stderr.flush()

    def log_message(self, format, *args) -> None:
        """Silenced: http.server's messages can quote the request line (and a ``?to=``)."""


class SinkServer(ThreadingHTTPServer):
    """The sink's HTTP server; ``url`` is where it listens."""

    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], account_sid: str, auth_token: str, store: MessageStore
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.store = store
        super().__init__(address, SinkHandler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def message_resource(
        self, sid: str, to: str, sender: str, service_sid: str, body: str, created: datetime
    ) -> dict:
        """Twilio's Message resource of a message just accepted."""
        date = format_datetime(created)
        base = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}"
        return {
            "sid": sid,
            "account_sid": self.account_sid,
            "messaging_service_sid": service_sid or None,
            "to": to,
            "from": sender or None,
            "body": body,
            "status": "queued",
            "num_segments": str(num_segments(body)),
            "num_media": "0",
            "direction": "outbound-api",
            "api_version": API_VERSION,
            "price": None,
            "price_unit": "USD",
            "error_code": None,
            "error_message": None,
            "date_created": date,
            "date_updated": date,
            "date_sent": None,
            "uri": f"{base}.json",
            "subresource_uris": {"media": f"{base}/Media.json"},
        }

    def close(self) -> None:
        """Stop serving (when started by :func:`serve`) and release the port."""
        thread = getattr(self, "thread", None)
        if thread is not None:
            self.shutdown()
            thread.join(timeout=5)
        self.server_close()


def make_server(
    host: str, port: int, account_sid: str, auth_token: str, store: Path | str | None = None
) -> SinkServer:
    """A bound (not yet serving) sink; ``port`` 0 picks a free port (see ``server.url``)."""
    return SinkServer(
        (host, port), account_sid, auth_token, MessageStore(Path(store) if store else None)
    )


def serve(
    host: str, port: int, account_sid: str, auth_token: str, store: Path | str | None = None
) -> SinkServer:
    """Start a sink in a background thread (for tests); stop it with ``server.close()``."""
    server = make_server(host, port, account_sid, auth_token, store)
    server.thread = threading.Thread(  # type: ignore[attr-defined]
        target=server.serve_forever, args=(0.1,), name="sms-sink", daemon=True
    )
    server.thread.start()  # type: ignore[attr-defined]
    return server


def _listen_address(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    return host or "127.0.0.1", int(port)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.sms_sink", description=__doc__)
    parser.add_argument("--listen", type=_listen_address, required=True, help="HOST:PORT")
    parser.add_argument("--account-sid", required=True)
    parser.add_argument("--auth-token", required=True)
    parser.add_argument("--store", type=Path, default=None, help="JSON-lines file of messages")
    args = parser.parse_args(argv)
    host, port = args.listen
    server = make_server(host, port, args.account_sid, args.auth_token, args.store)

    def on_signal(signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    kept = len(server.store.list())
    print(f"sms-sink listening on {server.url} ({kept} messages kept)", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    print("sms-sink stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
