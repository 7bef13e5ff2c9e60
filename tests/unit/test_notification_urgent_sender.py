"""A crisis page never waits for the routine sender: the urgent deliveries have a sender of
their own (the timer the stored page wakes), which sends while the routine sender is in the
middle of a busy run, here stuck writing its outcomes."""

from __future__ import annotations

import threading

from dbt_shared.contracts import CATALOG, coaching, intake
from dbt_shared.events.envelope import new_event
from dbt_shared.worker import WorkerContext, _timer_loop
from notifications import bootstrap, services, timers
from notifications.services import alerts

SITE = "site-1"
ON_CALL = "clin-1"
NUMBER = "+13125550100"


def _event(clock, type_, key, data):
    event = new_event(
        "coaching" if type_.startswith("coaching") else "intake",
        type_,
        key=key,
        subject=f"x/{key}",
        data=data,
        clock=clock,
        catalog=CATALOG,
    )
    return event, CATALOG.load(event.type, event.data)


def _referrals(c, count: int) -> None:
    batch = [
        _event(
            c.clock,
            intake.REFERRAL_RECEIVED,
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


def _crisis(c) -> None:
    data = {
        "request_id": "req-1",
        "site_id": SITE,
        "client_id": "client-1",
        "kind": "crisis",
        "crisis": True,
        "status": "open",
        "notified": [ON_CALL],
        "notify_clinical_lead": False,
        "notify_site_intake": False,
        "created_at": c.clock.now().isoformat(),
    }
    alerts.on_coaching_requests([_event(c.clock, coaching.REQUEST_CREATED, "req-1", data)], c)


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
        _crisis(c)
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
