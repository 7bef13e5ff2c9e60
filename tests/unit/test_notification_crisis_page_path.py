"""Nothing on a crisis page's way waits for more than it must: the page is handed to the woken
sender before the inbox items are written, and the on-call clinician's work number is asked of
intake once a minute, not behind intake's load on every page (a client's contact is never
kept)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dbt_shared.contracts import CATALOG, coaching
from dbt_shared.events.envelope import new_event
from notifications import bootstrap
from notifications.adapters import IntakeSites
from notifications.services import alerts

SITE = "site-1"


@pytest.fixture
def intake():
    """intake's contact routes, counting the requests."""
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            body = json.dumps({"channels": {"sms": "+13125550100"}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"

    class Settings:
        def service_url(self, _name: str) -> str:
            return url

    class Tokens:
        def token(self) -> str:
            return "service-token"

    yield IntakeSites(Settings(), Tokens()), asked  # type: ignore[arg-type]
    server.shutdown()
    server.server_close()


def test_the_clinician_on_call_is_asked_of_intake_once_a_minute_a_client_each_time(intake):
    sites, asked = intake
    for _ in range(3):  # three crisis pages in a row to the clinician on call
        assert sites.person("clinician", "clin-1")["channels"]["sms"] == "+13125550100"
    for _ in range(2):
        sites.person("client", "client-1")
    assert asked == ["/v1/clinicians/clin-1/contact"] + ["/v1/clients/client-1/contact"] * 2


def test_a_crisis_page_reaches_the_sender_before_the_inbox_is_written(clock, monkeypatch):
    c = bootstrap.in_memory(clock)
    deliveries = c.repositories.deliveries
    seen: list[bool] = []
    add_items = c.repositories.inbox.add_many

    def inbox_written(items):
        seen.append(deliveries.wake.is_set())  # the sender was woken already
        return add_items(items)

    monkeypatch.setattr(c.repositories.inbox, "add_many", inbox_written)
    data = {
        "request_id": "req-1",
        "site_id": SITE,
        "client_id": "client-1",
        "kind": "crisis",
        "crisis": True,
        "status": "open",
        "notified": ["clin-1"],
        "notify_clinical_lead": False,
        "notify_site_intake": False,
        "created_at": clock.now().isoformat(),
    }
    event = new_event(
        "coaching",
        coaching.REQUEST_CREATED,
        key="req-1",
        subject="coaching-requests/req-1",
        data=data,
        clock=clock,
        catalog=CATALOG,
    )
    alerts.on_coaching_requests([(event, CATALOG.load(event.type, event.data))], c)
    assert seen == [True]
    assert c.repositories.inbox.store.find({}), "the inbox items are written too"
