"""A sender that dies mid-run repeats at most the one message it had in flight: each attempt is
stored before its provider call (with the outcome of the message before it), and the repeat
goes under the same key, which the SMS provider honours (the local sink does) and email carries
as its Message-ID. Urgent deliveries wake the sender as they are stored."""

from __future__ import annotations

import collections
import dataclasses
import threading
from datetime import timedelta

import pytest
import requests

from dbt_shared.contracts import CATALOG, intake
from dbt_shared.events.envelope import new_event
from dbt_shared.worker import Timer, WorkerContext, _timer_loop
from devstack import sms_sink
from devstack.profile import SMS_ACCOUNT_SID, SMS_AUTH_TOKEN, SMS_FROM
from notifications import bootstrap, services
from notifications.adapters import InMemorySender, Sms, SmsSettings, TwilioSms, _mime
from notifications.domain.deliveries import LEASE

SITE = "site-1"
INTAKE_EMAIL = "intake@riverside.example.org"


class Crash(BaseException):
    """The worker process dies: nothing it would do next happens, no write included."""


@dataclasses.dataclass
class DyingSender(InMemorySender):
    """The mail relay, with the worker dying right after it hands over message ``dies_at``."""

    dies_at: int = 0
    dead: bool = False

    def send(self, email) -> None:
        super().send(email)
        if len(self.sent) == self.dies_at:
            self.dead = True
            raise Crash


@pytest.fixture
def notifications(clock):
    components = bootstrap.in_memory(clock)
    components.contacts.sites[SITE] = {
        "id": SITE,
        "timezone": "UTC",
        "intake_email": INTAKE_EMAIL,
        "clinical_lead": {"email": "lead@riverside.example.org"},
    }
    return components


def _referrals(components, count: int) -> None:
    batch = []
    for n in range(count):
        data = {
            "referral_id": f"ref-{n}",
            "site_id": SITE,
            "program": "adult",
            "received_at": components.clock.now().isoformat(),
        }
        event = new_event(
            "intake",
            intake.REFERRAL_RECEIVED,
            key=data["referral_id"],
            subject=f"referrals/{data['referral_id']}",
            data=data,
            clock=components.clock,
            catalog=CATALOG,
        )
        batch.append((event, CATALOG.load(event.type, event.data)))
    services.on_referrals_received(batch, components)


def test_a_sender_that_dies_mid_run_repeats_at_most_the_message_in_flight(
    notifications, monkeypatch
):
    _referrals(notifications, 10)
    relay = DyingSender(dies_at=6)  # five sent and recorded or not, the sixth in flight
    notifications.sender = relay
    deliveries = notifications.repositories.deliveries
    save_many = deliveries.save_many

    def unless_dead(changes):  # a dead process writes nothing more
        if relay.dead:
            raise Crash
        return save_many(changes)

    monkeypatch.setattr(deliveries, "save_many", unless_dead)
    with pytest.raises(Crash):
        services.dispatch_due(notifications)

    # Restarted: the relay is the same (what it was handed stays handed), the process is new.
    monkeypatch.setattr(deliveries, "save_many", save_many)
    restarted = dataclasses.replace(notifications, sender=InMemorySender(sent=relay.sent))
    restarted.clock.advance(LEASE + timedelta(seconds=1))  # the dead worker's leases run out
    services.dispatch_due(restarted)

    stored = deliveries.store.find({})
    assert {d["status"] for d in stored} == {"sent"}, "every referral's email went out"
    times = collections.Counter(email.delivery_id for email in relay.sent)
    assert set(times) == {d["_id"] for d in stored}
    repeated = [d for d, n in times.items() if n > 1]
    assert len(repeated) <= 1 and sum(times.values()) <= len(stored) + 1, times
    # The repeat is the message that was in flight, under the same Message-ID.
    ids = {
        _mime("no-reply@clinic.example", e)["Message-ID"]
        for e in relay.sent
        if e.delivery_id in repeated
    }
    assert len(ids) <= 1


def test_an_attempt_is_stored_as_in_flight_before_the_provider_is_called(notifications):
    _referrals(notifications, 1)
    deliveries = notifications.repositories.deliveries
    seen = []

    class Relay(InMemorySender):
        def send(self, email) -> None:
            seen.append(deliveries.get(email.delivery_id)["sending"])
            super().send(email)

    notifications.sender = Relay()
    services.dispatch_due(notifications)
    [in_flight] = seen
    assert in_flight == {"attempt": 1, "since": notifications.clock.now()}
    [delivery] = deliveries.store.find({})
    assert (delivery["status"], delivery["sending"]) == ("sent", None)


@pytest.fixture
def sink():
    server = sms_sink.serve("127.0.0.1", 0, SMS_ACCOUNT_SID, SMS_AUTH_TOKEN)
    yield server
    server.close()


def test_an_sms_sent_again_under_its_key_arrives_once(sink):
    provider = TwilioSms(SmsSettings(sink.url, SMS_ACCOUNT_SID, SMS_AUTH_TOKEN, SMS_FROM))
    page = Sms(to="+13125550100", body="Crisis: call now.", delivery_id="d-1", key="d-1.1")
    provider.send(page)
    provider.send(page)  # the worker died before it stored the outcome: sent again
    provider.send(dataclasses.replace(page, key="d-1.2"))  # a later attempt is a new message
    arrived = requests.get(f"{sink.url}/api/messages", timeout=5).json()
    assert len(arrived) == 2


def test_an_urgent_delivery_wakes_the_sender_a_routine_one_does_not(notifications):
    deliveries = notifications.repositories.deliveries
    _referrals(notifications, 3)
    assert not deliveries.wake.is_set(), "routine mail waits for the sender's next round"
    risk = new_event(
        "intake",
        intake.RISK_FLAGGED,
        key="ref-9",
        subject="referrals/ref-9",
        data={
            "referral_id": "ref-9",
            "site_id": SITE,
            "screening_id": "scr-9",
            "level": "high",
            "flagged_at": notifications.clock.now().isoformat(),
        },
        clock=notifications.clock,
        catalog=CATALOG,
    )
    services.on_risks_flagged([(risk, CATALOG.load(risk.type, risk.data))], notifications)
    assert deliveries.wake.is_set(), "a safety alert is sent as it is stored"


def test_a_woken_timer_runs_at_once_not_on_its_next_tick():
    ran = threading.Semaphore(0)
    wake = threading.Event()
    timer = Timer("deliveries", 3600.0, lambda _ctx: ran.release() or False, wake=wake)
    ctx = WorkerContext(None, None, None, threading.Event())  # type: ignore[arg-type]
    threading.Thread(target=_timer_loop(timer, ctx), daemon=True).start()
    assert ran.acquire(timeout=5), "the first run"
    wake.set()
    assert ran.acquire(timeout=5), "woken, it runs again long before its hour"
    ctx.stop.set()
    wake.set()
