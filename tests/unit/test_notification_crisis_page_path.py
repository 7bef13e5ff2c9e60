"""Nothing on a crisis page's way waits for more than it must: the page is handed to the woken
sender before the inbox items are written, to a sender of the urgent lane's own that sends
while the routine sender is in the middle of a busy run, and the on-call clinician's work
number is asked of intake once a minute, not behind intake's load on every page (a client's
contact is never kept)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dbt_shared.contracts import CATALOG, coaching
from dbt_shared.contracts import intake as intake_events
from dbt_shared.events.envelope import new_event
from dbt_shared.worker import WorkerContext, _timer_loop
from notifications import bootstrap, services, timers
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


def _crisis(c, on_call: str) -> None:
    """Coaching's crisis request for ``on_call``, as the urgent lane hands it over."""
    data = {
        "request_id": "req-1",
        "site_id": SITE,
        "client_id": "client-1",
        "kind": "crisis",
        "crisis": True,
        "status": "open",
        "notified": [on_call],
        "notify_clinical_lead": False,
        "notify_site_intake": False,
        "created_at": c.clock.now().isoformat(),
    }
    event = new_event(
        "coaching",
        coaching.REQUEST_CREATED,
        key="req-1",
        subject="coaching-requests/req-1",
        data=data,
        clock=c.clock,
        catalog=CATALOG,
    )
    alerts.on_coaching_requests([(event, CATALOG.load(event.type, event.data))], c)


def test_a_crisis_page_reaches_the_sender_before_the_inbox_is_written(clock, monkeypatch):
    c = bootstrap.in_memory(clock)
    deliveries = c.repositories.deliveries
    seen: list[bool] = []
    add_items = c.repositories.inbox.add_many

    def inbox_written(items):
        seen.append(deliveries.wake.is_set())  # the sender was woken already
        return add_items(items)

    monkeypatch.setattr(c.repositories.inbox, "add_many", inbox_written)
    _crisis(c, "clin-1")
    assert seen == [True]
    assert c.repositories.inbox.store.find({}), "the inbox items are written too"


# -- the urgent lane's sender ---------------------------------------------------------------------
ON_CALL = "clin-1"
NUMBER = "+13125550100"


def _referral(clock, key, data):
    event = new_event(
        "intake",
        intake_events.REFERRAL_RECEIVED,
        key=key,
        subject=f"referrals/{key}",
        data=data,
        clock=clock,
        catalog=CATALOG,
    )
    return event, CATALOG.load(event.type, event.data)


def _referrals(c, count: int) -> None:
    batch = [
        _referral(
            c.clock,
            f"ref-{n}",
            {
                "referral_id": f"ref-{n}",
                "site_id": SITE,
                "program": "adult",
                "received_at": c.clock.now().isoformat(),
            },
        )
        for n in range(count)
    ]
    services.on_referrals_received(batch, c)


def test_a_crisis_page_goes_out_while_the_routine_sender_is_stuck_in_its_run(clock, monkeypatch):
    c = bootstrap.in_memory(clock)
    c.contacts.sites[SITE] = {
        "id": SITE,
        "timezone": "UTC",
        "intake_email": "intake@riverside.example.org",
        "clinical_lead": {"email": "lead@riverside.example.org"},
    }
    c.contacts.people[ON_CALL] = {"channels": {"sms": NUMBER}, "timezone": "UTC"}
    deliveries = c.repositories.deliveries
    stuck, release = threading.Event(), threading.Event()
    save_many = deliveries.save_many

    def slow_first_write(changes):  # the routine run's outcomes: a write that takes its time
        if not stuck.is_set():
            stuck.set()
            release.wait(30)
        return save_many(changes)

    monkeypatch.setattr(deliveries, "save_many", slow_first_write)
    _referrals(c, 5)  # routine mail due now
    ctx = WorkerContext(None, None, clock, threading.Event())  # type: ignore[arg-type]
    loops = [
        threading.Thread(target=_timer_loop(timer, ctx), daemon=True)
        for timer in timers.timers(c)
        if timer.name.startswith("deliveries")
    ]
    for loop in loops:
        loop.start()
    try:
        assert stuck.wait(10), "the routine sender sent its mail and is writing the outcomes"
        _crisis(c, ON_CALL)
        paged = threading.Event()
        for _ in range(100):
            if any(sms.to == NUMBER for sms in c.sms.sent):
                paged.set()
                break
            paged.wait(0.05)
        assert paged.is_set(), "the on-call clinician was paged while the routine run was stuck"
        assert not release.is_set() and stuck.is_set()
        referrals = [e for e in c.sender.sent if e.subject == "New referral received"]
        assert len(referrals) == 5, "the routine mail went out before"
    finally:
        release.set()
        ctx.stop.set()
        deliveries.wake.set()
        for loop in loops:
            loop.join(10)
    [page] = [d for d in deliveries.store.find({}) if d.get("recipient_id") == ON_CALL]
    assert page["status"] == "sent", "the page's outcome is written too"
