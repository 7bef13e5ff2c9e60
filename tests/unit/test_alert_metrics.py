"""The metrics the alerts of ``deploy/monitoring/rules`` read, as the services export them: each
test drives the real code (the consumer runner, a worker's loops, an api's readiness, the
notifications sender and its timers, coaching's deadlines and coverage check) and reads the
value Prometheus would scrape. Labels stay bounded: no client, referral or person id."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY
from stand_in_broker import INTAKE, TP, Broker, record, referral, runner_on
from test_coaching_api import NOW as COACHING_NOW
from test_coaching_api import SITE as COACHING_SITE
from test_coaching_api import as_client, as_clinician, rota, seed

from coaching.app import create_app as coaching_app
from coaching.services import availability, escalation
from dbt_shared import worker as worker_module
from dbt_shared.clock import FixedClock
from dbt_shared.contracts import CATALOG, intake
from dbt_shared.events import consumer as consumer_module
from dbt_shared.events.envelope import new_event
from dbt_shared.loop_health import LoopPasses
from notifications import bootstrap, services
from notifications.domain.deliveries import TransientFailure
from notifications.services import reminders, safety_wait

SITE = "site-1"


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


# -- the consumer's lag -------------------------------------------------------------------------
def test_the_consumer_reports_how_far_behind_the_partition_end_it_is_after_each_poll(monkeypatch):
    """Two polls of a partition whose end is at offset 10: 7 behind after the first (offsets
    0-2 handed over), caught up after the second (3-9)."""
    events = [record(referral(f"site-{n}"), n) for n in range(10)]
    broker = Broker(polls=[events[:3], events[3:]])
    seen: list[float] = []

    def handle(_event, _data, _ctx):
        pass

    runner = runner_on(broker, {intake.REFERRAL_RECEIVED: handle}, None, monkeypatch)

    class WithEnd(consumer_module.KafkaConsumer):  # the stand-in broker's, with its end known
        def highwater(self, tp):
            return 10 if tp == TP else None

        def poll(self, timeout_ms: int = 0) -> dict:
            # what the gauge read after the previous poll was reported
            seen.append(value("dbt_consumer_lag", service="test", topic=INTAKE))
            return super().poll(timeout_ms)

    monkeypatch.setattr(consumer_module, "KafkaConsumer", WithEnd)
    runner.run()
    assert seen[1:] == [7.0, 0.0]


# -- the worker's loops -------------------------------------------------------------------------
def test_a_worker_loop_that_fails_is_counted_as_restarted_and_reported_down_while_it_fails():
    before = value("dbt_worker_loop_restarts_total", service="svc", loop="timer:x")
    stop = threading.Event()
    calls = []

    def flaky() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the database went away")

    worker_module._guarded(
        "svc", "timer:x", flaky, stop, LoopPasses()
    )()  # fails once, is started again (1 s backoff), then returns
    assert value("dbt_worker_loop_restarts_total", service="svc", loop="timer:x") == before + 1

    threads = {"timer:x": threading.Thread(target=lambda: None), "relay": threading.Thread()}
    failing = {"timer:x"}
    report = worker_module._reporting("svc", threads, lambda: set(failing), LoopPasses())
    report()
    assert value("dbt_worker_loop_up", service="svc", loop="timer:x") == 0
    assert value("dbt_worker_loop_up", service="svc", loop="relay") == 1
    failing.clear()
    report()
    assert value("dbt_worker_loop_up", service="svc", loop="timer:x") == 1


# -- an api's dependencies ----------------------------------------------------------------------
def test_a_scrape_of_an_api_reports_each_dependency_its_readiness_cannot_reach(api_env, auth):
    """The api's environment points at no database and no broker: its /metrics says so, without
    anything calling /readyz."""
    app = coaching_app(seed(FixedClock(COACHING_NOW))).test_client()
    scraped = app.get("/metrics")
    assert scraped.status_code == 200
    text = scraped.get_data(as_text=True)
    assert 'dbt_dependency_up{dependency="mongodb",service="coaching"} 0.0' in text
    assert 'dbt_dependency_up{dependency="kafka",service="coaching"} 0.0' in text


# -- notifications ------------------------------------------------------------------------------
@pytest.fixture
def notifications(clock):
    components = bootstrap.in_memory(clock)
    components.contacts.sites[SITE] = {
        "id": SITE,
        "timezone": "UTC",
        "intake_email": "intake@riverside.example.org",
        "clinical_lead": {"email": "lead@riverside.example.org"},
    }
    return components


def _risk_flag(components, referral_id: str = "ref-9") -> None:
    risk = new_event(
        "intake",
        intake.RISK_FLAGGED,
        key=referral_id,
        subject=f"referrals/{referral_id}",
        data={
            "referral_id": referral_id,
            "site_id": SITE,
            "screening_id": "scr-9",
            "level": "high",
            "flagged_at": components.clock.now().isoformat(),
        },
        clock=components.clock,
        catalog=CATALOG,
    )
    services.on_risks_flagged([(risk, CATALOG.load(risk.type, risk.data))], components)


def test_a_safety_alert_the_provider_keeps_refusing_shows_its_wait_and_each_failed_call(
    notifications, clock
):
    errors = value("dbt_notifications_provider_calls_total", channel="email", outcome="error")
    sent = value("dbt_notifications_provider_calls_total", channel="email", outcome="ok")
    notifications.sender.failures = [ConnectionError("relay down")] * 3
    _risk_flag(notifications)
    assert safety_wait.report_safety_wait(notifications) == 0.0  # just made
    for _ in range(3):  # each retry fails while the relay is down
        services.dispatch_due(notifications)
        clock.advance(timedelta(minutes=2))
    assert safety_wait.report_safety_wait(notifications) == 360.0
    assert value("dbt_notifications_safety_pending_oldest_seconds") == 360.0
    assert (
        value("dbt_notifications_provider_calls_total", channel="email", outcome="error")
        == errors + 3
    )
    services.dispatch_due(notifications)  # the relay is back: it goes
    assert (
        value("dbt_notifications_provider_calls_total", channel="email", outcome="ok") == sent + 1
    )
    assert safety_wait.report_safety_wait(notifications) == 0.0


def test_a_reminder_plan_that_cannot_read_the_calendar_is_counted(notifications):
    failed = value("dbt_notifications_reminder_plans_total", outcome="calendar_unreachable")
    planned = value("dbt_notifications_reminder_plans_total", outcome="planned")
    for group in ("g-1", "g-2"):
        notifications.repositories.enrollments.insert(
            {
                "_id": f"e-{group}",
                "client_id": "c-1",
                "group_id": group,
                "site_id": SITE,
                "status": "active",
                "first_session_starts_at": notifications.clock.now(),
            }
        )

    class HalfDown:
        def sessions(self, group_id, first, last):
            if group_id == "g-1":
                raise TransientFailure("skills-group answered 503")
            return []

    notifications.sessions = HalfDown()
    reminders.plan_all(notifications)
    assert (
        value("dbt_notifications_reminder_plans_total", outcome="calendar_unreachable")
        == failed + 1
    )
    assert value("dbt_notifications_reminder_plans_total", outcome="planned") == planned + 1


# -- coaching -----------------------------------------------------------------------------------
@pytest.fixture
def coaching(api_env):
    clock = FixedClock(COACHING_NOW)
    components = seed(clock)
    return components, clock, coaching_app(components).test_client()


def test_a_crisis_request_past_its_call_back_target_counts_a_crisis_miss(coaching, auth):
    components, clock, api = coaching
    api.put(
        f"/v1/sites/{COACHING_SITE}/rota", json=rota(), headers=auth("coordinator", COACHING_SITE)
    )
    crisis = value("dbt_coaching_deadlines_missed_total", deadline="callback", path="crisis")
    routine = value("dbt_coaching_deadlines_missed_total", deadline="callback", path="routine")
    made = api.post("/v1/coaching-requests", json={"kind": "crisis"}, headers=as_client(auth))
    assert made.status_code == 201, made.json
    clock.advance(timedelta(minutes=31))  # the site's call-back target: 30 minutes
    escalation.escalate_due(components)
    assert (
        value("dbt_coaching_deadlines_missed_total", deadline="callback", path="crisis")
        == crisis + 1
    )
    assert (
        value("dbt_coaching_deadlines_missed_total", deadline="callback", path="routine") == routine
    )


def test_a_routine_acknowledgement_missed_is_counted_and_a_crisis_acknowledgement_is_timed(
    coaching, auth
):
    components, clock, api = coaching
    api.put(
        f"/v1/sites/{COACHING_SITE}/rota", json=rota(), headers=auth("coordinator", COACHING_SITE)
    )
    missed = value(
        "dbt_coaching_deadlines_missed_total", deadline="acknowledgement", path="routine"
    )
    api.post("/v1/coaching-requests", json={"kind": "skills"}, headers=as_client(auth))
    clock.advance(timedelta(minutes=1, seconds=1))  # the program's target here: 1 minute
    escalation.escalate_due(components)
    assert (
        value("dbt_coaching_deadlines_missed_total", deadline="acknowledgement", path="routine")
        == missed + 1
    )

    timed = value("dbt_coaching_response_seconds_count", step="acknowledged", path="crisis")
    crisis = api.post(
        "/v1/coaching-requests", json={"kind": "crisis"}, headers=as_client(auth, "client-2")
    ).json
    clock.advance(timedelta(seconds=45))
    answer = api.post(
        f"/v1/coaching-requests/{crisis['id']}/acknowledgement", headers=as_clinician(auth, "pat")
    )
    assert answer.status_code == 200, answer.json
    assert value("dbt_coaching_response_seconds_count", step="acknowledged", path="crisis") == (
        timed + 1
    )


def test_the_coverage_check_reports_the_gaps_starting_within_a_day(coaching, auth):
    components, _clock, api = coaching
    coordinator = auth("coordinator", COACHING_SITE)
    # Tuesday 18:00 in New York: nobody on call this evening nor tomorrow evening
    api.put(
        f"/v1/sites/{COACHING_SITE}/rota",
        json=rota(days=("mon", "thu", "fri")),
        headers=coordinator,
    )
    assert value("dbt_coaching_coverage_gaps_next_24h", site_id=COACHING_SITE) >= 1
    api.put(f"/v1/sites/{COACHING_SITE}/rota", json=rota(), headers=coordinator)  # mended
    availability.check_all_gaps(components)
    assert value("dbt_coaching_coverage_gaps_next_24h", site_id=COACHING_SITE) == 0
