"""The chaos run's SIGTERM during retry: the notifications worker stopped while its handlers fail
on a PostgreSQL outage must still deliver every risk flag and crisis request exactly once
(see ``chaos.py``)."""

from __future__ import annotations

import collections
import signal
import time
import uuid
from dataclasses import dataclass, field

import requests
from pymongo import MongoClient

from devstack import Profile, Stack, mint_token
from tests.bench.chaos_load import ARRIVAL_LIMIT_S, SETTLE_S, until

#: What the notifications worker logs while its handlers fail on the database.
HANDLER_FAILING = ("database unreachable while handling", "event handler failed")
HIGH_RISK = {
    "cssrs": [True, True, True, True, False, False],
    "phq9": [2] * 8 + [1],
    "gad7": [1, 1, 0, 0, 1, 0, 0],
    "ders16_total": 40,
    "bsl23_mean": 0.8,
}


# -- SIGTERM during retry ------------------------------------------------------------------------
@dataclass
class Alerts:
    """The risk flags (referral ids) and crisis requests (request ids) of the step, and what
    notifications' database holds for each: site inbox items and deliveries."""

    risks: list[str]
    crises: list[str]
    refused: list[str] = field(default_factory=list)
    failing_seen: bool = False
    stop_s: float | None = None  # SIGTERM to exit; None: it had to be killed
    arrived_after: float | None = None  # seconds from the restart until everything was there
    items: collections.Counter = field(default_factory=collections.Counter)
    deliveries: collections.Counter = field(default_factory=collections.Counter)

    @property
    def wanted(self) -> list[str]:
        return self.risks + self.crises

    def missing(self) -> tuple[int, int]:
        return (
            sum(1 for x in self.wanted if self.items[x] == 0),
            sum(1 for x in self.wanted if self.deliveries[x] == 0),
        )

    def duplicated(self) -> int:
        return sum(1 for x in self.wanted if self.items[x] > 1)

    def complete(self) -> bool:
        return self.missing() == (0, 0) and self.duplicated() == 0


def count_alerts(mongo: MongoClient, site_id: str, alerts: Alerts) -> None:
    """Site inbox items and deliveries per risk flag (by referral) and crisis (by request)."""
    db = mongo["dbt_notifications"]
    items: collections.Counter = collections.Counter()
    deliveries: collections.Counter = collections.Counter()
    # index site_by_priority: equality on the site (a new site: only this run's)
    for item in db.inbox_items.find({"site_id": site_id, "recipient_id": None}):
        if item.get("kind") == "risk_flagged":
            items[item.get("referral_id")] += 1
        elif item.get("kind") == "coaching_request":
            items[item.get("request_id")] += 1
    by_reference = {request_id[:8]: request_id for request_id in alerts.crises}
    for delivery in db.deliveries.find({"site_id": site_id}, {"purpose": 1, "subject_ref": 1}):
        if delivery.get("purpose") == "risk_flagged":
            deliveries[delivery.get("subject_ref")] += 1
        elif delivery.get("purpose") == "coaching_request":
            deliveries[by_reference.get(delivery.get("subject_ref"))] += 1
    alerts.items, alerts.deliveries = items, deliveries


def drained(mongo: MongoClient) -> bool:
    """Intake's and coaching's events are all on the broker (their outboxes are empty)."""
    return all(
        mongo[db].outbox_intents.count_documents({}) == 0 for db in ("dbt_intake", "dbt_coaching")
    )


def make_alerts(profile: Profile, site_id: str, referral_ids: list[str], count: int) -> Alerts:
    """``count`` high-risk screenings of this run's referrals and ``count`` crisis requests,
    each by a client coaching does not know yet (a crisis path always open)."""
    intake = profile.api_url("intake")
    coordinator = {"Authorization": f"Bearer {mint_token(['coordinator'], [site_id], 'chaos')}"}
    alerts = Alerts(risks=[], crises=[])
    for referral_id in referral_ids[:count]:
        answer = requests.post(
            f"{intake}/v1/referrals/{referral_id}/screenings",
            json=HIGH_RISK,
            headers=coordinator,
            timeout=15,
        )
        if answer.status_code == 201:
            alerts.risks.append(referral_id)
        else:
            alerts.refused.append(f"screening {answer.status_code} {answer.text[:120]}")
    for n in range(count):
        token = mint_token(["client"], [site_id], f"chaos-crisis-{uuid.uuid4().hex[:8]}-{n}")
        answer = requests.post(
            f"{profile.api_url('coaching')}/v1/coaching-requests",
            json={"kind": "crisis"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=15,
        )
        if answer.status_code == 201:
            alerts.crises.append(answer.json()["id"])
        else:
            alerts.refused.append(f"crisis {answer.status_code} {answer.text[:120]}")
    return alerts


def sigterm_during_retry(
    stack: Stack,
    profile: Profile,
    mongo: MongoClient,
    site_id: str,
    referral_ids: list[str],
    count: int,
    wait_s: float,
) -> Alerts:
    worker = stack.processes["notifications-worker"]
    worker.send_signal(signal.SIGSTOP)  # the events wait on the topics, unread
    try:
        alerts = make_alerts(profile, site_id, referral_ids, count)
        until(lambda: drained(mongo), 60)
        stack.processes["postgres"].kill()  # FerretDB stays up and answers errors
        log_from = worker.log_file.stat().st_size if worker.log_file.exists() else 0
    finally:
        worker.send_signal(signal.SIGCONT)

    def failing() -> bool:
        with open(worker.log_file, "rb") as log:
            log.seek(log_from)
            text = log.read().decode(errors="replace")
        return any(sign in text for sign in HANDLER_FAILING)

    alerts.failing_seen = until(failing, 60)
    asked = time.monotonic()
    worker.send_signal(signal.SIGTERM)  # as Kubernetes does, while its handlers fail
    if worker.wait(timeout=40):
        alerts.stop_s = time.monotonic() - asked
    else:
        worker.kill()
    stack.restart("postgres", timeout=180)
    stack.restart("notifications-worker", timeout=180)
    restarted = time.monotonic()

    def complete() -> bool:
        count_alerts(mongo, site_id, alerts)
        return alerts.complete()

    if until(complete, wait_s):
        alerts.arrived_after = time.monotonic() - restarted
        time.sleep(SETTLE_S)  # a late duplicate would show now
    count_alerts(mongo, site_id, alerts)
    return alerts


def report_alerts(alerts: Alerts) -> int:
    items_missing, deliveries_missing = alerts.missing()
    print()
    print("SIGTERM during retry (notifications worker, PostgreSQL down)")
    print(f"  risk flags / crises     {len(alerts.risks)} / {len(alerts.crises)}")
    print(f"  handlers seen failing   {'yes' if alerts.failing_seen else 'no'}")
    stopped = "killed after 40 s" if alerts.stop_s is None else f"{alerts.stop_s:.1f} s"
    print(f"  SIGTERM to exit         {stopped}")
    print(f"  inbox items missing     {items_missing}")
    print(f"  inbox items duplicated  {alerts.duplicated()}")
    print(f"  deliveries missing      {deliveries_missing}")
    if alerts.arrived_after is None:
        print("  everything arrived      not within the wait after the restart")
    else:
        print(f"  everything arrived      {alerts.arrived_after:.1f} s after the restart")
    for why in alerts.refused[:5]:
        print(f"  refused: {why}")
    problems = []
    if alerts.refused or not alerts.risks or not alerts.crises:
        problems.append(f"{len(alerts.refused)} risk flags or crisis requests not made")
    if items_missing or deliveries_missing or alerts.duplicated():
        problems.append(
            f"{items_missing} inbox items and {deliveries_missing} deliveries missing, "
            f"{alerts.duplicated()} duplicated"
        )
    if alerts.arrived_after is None or alerts.arrived_after > ARRIVAL_LIMIT_S:
        problems.append(f"not everything arrived within {ARRIVAL_LIMIT_S:.0f} s of the restart")
    if problems:
        print("FAIL: " + "; ".join(problems))
        return 1
    print("PASS")
    return 0
