"""Chaos run: referrals under load while the relay, a consumer, an api, the broker and the
database are each SIGKILLed and restarted; then every referral must reach the site's inbox
exactly once, and its email the mailbox.

Run with ``make chaos`` (``N=1000`` referrals by default), which runs
``python -P tests/bench/chaos.py``: ``-P`` keeps this folder off ``sys.path``, where
``platform.py`` would stand in for the standard library's. It starts a fresh test-profile stack
(``DEVSTACK_PORT_OFFSET`` shifts its ports), creates a site with an intake address, and posts
referrals from a few client threads. A request that fails with a connection error or a 5xx is
sent again with the same ``Idempotency-Key``, so a retried request is the same referral; a
referral counts as accepted once it answered 201. Meanwhile, spread over the load, one process
after another gets SIGKILL and is started again straight away, as the supervisor would:

- ``relay``: the intake worker (its outbox relay);
- ``consumer``: the notifications worker (intake's events -> inbox items and deliveries);
- ``api``: the intake api (gunicorn master and workers);
- ``broker``: Kafka;
- ``database``: FerretDB and the PostgreSQL that stores its data.

Then it waits until every accepted referral has exactly one inbox item in notifications'
database and an email in Mailpit, and prints what arrived and how long after the last kill.
It exits non-zero if an inbox item is missing or duplicated, if intake lost a referral it had
accepted, or if not everything had arrived within 2 minutes of the last kill. Email is
at-least-once by design: a second copy of an email is reported, not failed.

Last, **SIGTERM during retry**: the notifications worker is paused (SIGSTOP) while high-risk
screenings (risk flags) and crisis requests are made; PostgreSQL is killed (FerretDB stays up
and answers errors); the worker resumes, its handlers fail on the database, and it gets SIGTERM
in the middle of that; then PostgreSQL and the worker are started again. Every risk flag and
every crisis request must still get its site inbox item (exactly one) and a delivery within
2 minutes of the restart: a stopping consumer never commits what it did not handle.

Then, **the consumer-lag alert**: the broker is killed and kept down while referrals go on
arriving, until the alert has been mailed (at most ``--outage`` seconds, default 150), then
started again. The stack's Prometheus
(production's rule files, every ``for:`` capped at 30 s by ``DEVSTACK_ALERT_FOR_MAX``) must fire
``ConsumerLagGrowing``, Alertmanager must mail it to Mailpit by the production route tree, and
both must resolve (a ``[RESOLVED]`` mail) within ``--wait`` seconds of the broker's return.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import signal
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field

import requests
from pymongo import MongoClient

from devstack import INFRASTRUCTURE, Profile, Stack, mint_token, monitoring
from devstack.supervisor import BACKOFF_FIRST

#: What is killed, in this order, and the stack processes that make it up.
KILLS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("relay", ("intake-worker",)),
    ("consumer", ("notifications-worker",)),
    ("api", ("intake-api",)),
    ("broker", ("kafka",)),
    ("database", ("postgres", "ferretdb")),
)
#: Everything must have arrived this long after the last kill (the issue's target).
ARRIVAL_LIMIT_S = 120.0
#: Inbox items and emails are counted again this long after everything arrived, so that a
#: late duplicate (a redelivery after the last restart) is counted too.
SETTLE_S = 15.0
RETRY_PAUSE_S = 0.5
REFERENCE = re.compile(r"Reference:\s*(\S+)")
#: What the notifications worker logs while its handlers fail on the database.
HANDLER_FAILING = ("database unreachable while handling", "event handler failed")
HIGH_RISK = {
    "cssrs": [True, True, True, True, False, False],
    "phq9": [2] * 8 + [1],
    "gad7": [1, 1, 0, 0, 1, 0, 0],
    "ders16_total": 40,
    "bsl23_mean": 0.8,
}


# -- the load ------------------------------------------------------------------------------------
@dataclass
class Load:
    """Client threads posting referrals to intake, each retried until accepted: at least
    ``total``, and on until ``finish`` is set (so that every kill happens under load)."""

    url: str
    headers: dict[str, str]
    site_id: str
    total: int
    threads: int
    rate: float  # referrals per second, all threads together (a backlog goes out at once)
    give_up_at: float  # monotonic: stop retrying after this
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    accepted: dict[int, str] = field(default_factory=dict)  # request number -> referral id
    refused: dict[int, str] = field(default_factory=dict)  # request number -> status and text
    retries: int = 0
    failures: collections.Counter = field(default_factory=collections.Counter)
    _next: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _workers: list[threading.Thread] = field(default_factory=list)
    _started: float = 0.0
    finish: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        self._started = time.monotonic()
        for n in range(self.threads):
            thread = threading.Thread(target=self._work, name=f"load-{n}", daemon=True)
            thread.start()
            self._workers.append(thread)

    def join(self) -> None:
        for thread in self._workers:
            thread.join()

    @property
    def settled(self) -> int:
        """Referrals answered for good (accepted or refused); once joined, all that were sent."""
        with self._lock:
            return len(self.accepted) + len(self.refused)

    def _work(self) -> None:
        session = requests.Session()
        while True:
            with self._lock:
                n, self._next = self._next, self._next + 1
            if n >= self.total and self.finish.is_set():
                return
            # Paced, so that the load lasts through every kill (the schedule, not a wait).
            time.sleep(max(0.0, self._started + n / self.rate - time.monotonic()))
            self._send(session, n)

    def _send(self, session: requests.Session, n: int) -> None:
        body = {
            "site_id": self.site_id,
            "program": "adult",
            "source": "chaos",
            "consent_to_contact": True,
            "client": {
                "given_name": "Chaos",
                "family_name": f"Client{n}",
                "date_of_birth": "1990-01-01",
                "email": f"c{n}@example.org",
                "phone": "+1 312 555 0100",
            },
        }
        headers = {**self.headers, "Idempotency-Key": f"chaos-{self.run_id}-{n}"}
        while time.monotonic() < self.give_up_at:
            try:
                response = session.post(self.url, json=body, headers=headers, timeout=15)
            except requests.RequestException as exc:  # the api (or its host) is down
                self._failed(type(exc).__name__)
                continue
            if response.status_code == 201:
                with self._lock:
                    self.accepted[n] = response.json()["id"]
                return
            if response.status_code >= 500 or response.status_code == 429:
                self._failed(str(response.status_code))
                continue
            with self._lock:
                self.refused[n] = f"{response.status_code} {response.text[:200]}"
            return
        with self._lock:
            self.refused[n] = "not accepted before the load's time limit"

    def _failed(self, why: str) -> None:
        with self._lock:
            self.retries += 1
            self.failures[why] += 1
        time.sleep(RETRY_PAUSE_S)


# -- the kills -----------------------------------------------------------------------------------
def kill_and_restart(stack: Stack, keys: tuple[str, ...]) -> float:
    """SIGKILL every process of ``keys`` at once, then start them again as the supervisor
    would (after its first backoff delay; the infrastructure in start order). Returns the
    monotonic time of the kill."""
    killed_at = time.monotonic()
    for key in keys:
        proc = stack.processes.get(key)
        if proc is None or not proc.is_running():
            raise SystemExit(f"chaos: {key} is not running, cannot kill it")
        proc.kill()
    time.sleep(BACKOFF_FIRST)
    order = [k for k in INFRASTRUCTURE if k in keys] + [k for k in keys if k not in INFRASTRUCTURE]
    for key in order:
        stack.restart(key, timeout=180)
    return killed_at


def run_kills(stack: Stack, load: Load, gap_s: float) -> float:
    """Kill each part in turn, spread over the load (kill i once i/(n+1) of the referrals are
    settled, and at least ``gap_s`` after the previous restart); the load goes on for ``gap_s``
    after the last restart. Returns the last kill's time."""
    last_kill = 0.0
    ready_at = time.monotonic()
    for i, (name, keys) in enumerate(KILLS):
        due = load.total * (i + 1) // (len(KILLS) + 1)
        while load.settled < due or time.monotonic() < ready_at + gap_s:
            time.sleep(0.2)
        at = load.settled
        last_kill = kill_and_restart(stack, keys)
        ready_at = time.monotonic()
        print(
            f"  killed {name:9s} ({', '.join(keys)}) at {at:5d} settled; "
            f"running again {ready_at - last_kill:5.1f} s later",
            flush=True,
        )
    time.sleep(gap_s)
    load.finish.set()
    return last_kill


# -- what arrived --------------------------------------------------------------------------------
@dataclass
class Arrivals:
    inbox: collections.Counter  # referral id -> inbox items
    emails: collections.Counter  # referral id -> emails to the site's intake address

    def missing(self, wanted: set[str]) -> tuple[int, int]:
        return (
            sum(1 for r in wanted if self.inbox[r] == 0),
            sum(1 for r in wanted if self.emails[r] == 0),
        )

    def duplicated(self, wanted: set[str]) -> tuple[int, int]:
        return (
            sum(1 for r in wanted if self.inbox[r] > 1),
            sum(1 for r in wanted if self.emails[r] > 1),
        )

    def complete(self, wanted: set[str]) -> bool:
        return self.missing(wanted) == (0, 0) and self.duplicated(wanted)[0] == 0


def count_arrivals(mongo: MongoClient, mailpit_url: str, site_id: str, address: str) -> Arrivals:
    # The site is new: its items are this run's. (Index site_by_priority: equality on site_id.)
    items = mongo["dbt_notifications"].inbox_items.find({"site_id": site_id}, {"referral_id": 1})
    inbox = collections.Counter(item.get("referral_id") for item in items)
    emails: collections.Counter = collections.Counter()
    start, limit = 0, 500
    while True:
        page = requests.get(
            f"{mailpit_url}/api/v1/messages", params={"start": start, "limit": limit}, timeout=10
        ).json()
        messages = page.get("messages") or []
        for message in messages:
            if any(to.get("Address") == address for to in message.get("To") or []):
                found = REFERENCE.search(message.get("Snippet", ""))
                emails[found.group(1) if found else None] += 1
        start += len(messages)
        if not messages or start >= page.get("messages_count", page.get("total", 0)):
            return Arrivals(inbox, emails)


def wait_for_arrivals(
    count, wanted: set[str], last_kill: float, wait_s: float
) -> tuple[Arrivals, float | None]:
    """Poll until everything arrived or ``wait_s`` after the last kill; answers the last
    count and the seconds from the last kill until everything had arrived (None: never)."""
    arrivals = None
    while True:
        try:
            arrivals = count()
        except Exception as exc:  # the database may still be catching up
            print(f"  (count failed: {type(exc).__name__}: {exc})", flush=True)
        now = time.monotonic()
        if arrivals is not None and arrivals.complete(wanted):
            return arrivals, now - last_kill
        if now - last_kill > wait_s:
            if arrivals is None:
                raise SystemExit("chaos: could not count what arrived")
            return arrivals, None
        time.sleep(1.0)


def stuck_work(mongo: MongoClient) -> str:
    """What is still in flight (for a failed run's report): the intents intake has not
    published, notifications' queued deliveries, and the deliveries by status."""
    intake, notifications = mongo["dbt_intake"], mongo["dbt_notifications"]
    intents = intake.outbox_intents.count_documents({})
    queued = notifications.delivery_queue.count_documents({})
    statuses = collections.Counter(d.get("status") for d in notifications.deliveries.find({}))
    return f"intake intents {intents}, delivery queue {queued}, deliveries {dict(statuses)}"


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


def until(check, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return True
        except Exception:  # the database may be away for a moment
            pass
        time.sleep(0.5)
    return False


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


# -- the consumer-lag alert ----------------------------------------------------------------------
#: The alert a broker outage must raise (deploy/monitoring/rules/platform.yml), and the cap on
#: every rule's `for:` in this run's Prometheus (production waits minutes).
LAG_ALERT = "ConsumerLagGrowing"
ALERT_FOR_MAX = "30s"


@dataclass
class AlertTrail:
    """What the monitoring saw of one broker outage; times in seconds from the kill (fired,
    mailed) or from the broker's return (resolved, resolved mail); None: never seen."""

    outage_s: float  # at most
    down_s: float = 0.0  # the broker was down this long (less once the alert was mailed)
    posted: int = 0
    receiver: str = ""
    mailbox: str = ""
    fired: float | None = None
    mailed: float | None = None
    resolved: float | None = None
    resolved_mail: float | None = None


def lag_alert_on_broker_outage(stack: Stack, profile: Profile, load: Load, wait_s: float):
    """Kill the broker and keep it down for the trail's outage under ``load``, then start it;
    follow ConsumerLagGrowing through Alertmanager's API and Mailpit until it has resolved."""
    trail = AlertTrail(outage_s=load.total / load.rate)
    mailboxes = {r["name"]: r["local_email"] for r in monitoring.load_routes()["receivers"]}

    def mails(subject: str) -> bool:  # this outage's: not one seen before the kill
        found = monitoring.alert_mails(profile, trail.mailbox, LAG_ALERT)
        return any(m["Subject"].startswith(subject) and m["ID"] not in seen for m in found)

    def mailed() -> bool:
        if trail.mailed is None and trail.mailbox and mails("[FIRING"):
            trail.mailed = time.monotonic() - killed
        return trail.mailed is not None

    def fired() -> bool:
        alerts = monitoring.alerts_in_alertmanager(profile, LAG_ALERT)
        if alerts and trail.fired is None:
            trail.fired = time.monotonic() - killed
            trail.receiver = alerts[0]["receivers"][0]["name"]
            trail.mailbox = mailboxes[trail.receiver]
        return bool(alerts)

    # An alert of an earlier kill of this run must be over first, and its mails do not count.
    until(lambda: not monitoring.alerts_in_alertmanager(profile, LAG_ALERT), wait_s)
    seen = {
        m["ID"]
        for box in mailboxes.values()
        for m in monitoring.alert_mails(profile, box, LAG_ALERT)
    }
    load.start()
    time.sleep(5.0)  # referrals on their way before the kill
    stack.processes["kafka"].kill()
    killed = time.monotonic()
    # Down for the outage, or less once the alert has fired and been mailed.
    until(
        lambda: time.monotonic() - killed >= trail.outage_s or (fired() and mailed()),
        trail.outage_s + 5,
    )
    stack.restart("kafka", timeout=180)
    back = time.monotonic()
    trail.down_s = back - killed
    load.finish.set()
    if trail.fired is None:
        until(fired, wait_s)
    if trail.mailbox:
        until(mailed, wait_s)
    if trail.fired is not None and until(lambda: not fired(), wait_s):
        trail.resolved = time.monotonic() - back
        if until(lambda: mails("[RESOLVED]"), wait_s):
            trail.resolved_mail = time.monotonic() - back
    load.join()
    trail.posted = len(load.accepted)
    return trail


def report_lag_alert(trail: AlertTrail) -> int:
    def seconds(value: float | None, after: str) -> str:
        return "never" if value is None else f"{value:.1f} s after {after}"

    print()
    print(f"consumer-lag alert ({LAG_ALERT})")
    print(f"  broker down                   {trail.down_s:.1f} s (at most {trail.outage_s:.0f} s)")
    print(f"  referrals accepted meanwhile  {trail.posted}")
    print(f"  fired in Alertmanager         {seconds(trail.fired, 'the kill')}")
    print(f"  routed to                     {trail.receiver or '-'} ({trail.mailbox or '-'})")
    print(f"  mail in Mailpit               {seconds(trail.mailed, 'the kill')}")
    print(f"  resolved in Alertmanager      {seconds(trail.resolved, 'the broker returned')}")
    print(f"  resolved mail in Mailpit      {seconds(trail.resolved_mail, 'the broker returned')}")
    if None in (trail.fired, trail.mailed, trail.resolved, trail.resolved_mail):
        print("FAIL: the consumer-lag alert did not fire, reach the mail catcher and resolve")
        return 1
    print("PASS")
    return 0


# -- the run -------------------------------------------------------------------------------------
def create_site(intake_url: str) -> tuple[str, str]:
    operator = {"Authorization": f"Bearer {mint_token(['operator'], [], 'chaos-op')}"}
    address = f"chaos-{uuid.uuid4().hex[:6]}@example.org"
    response = requests.post(
        f"{intake_url}/v1/sites",
        json={"name": "Chaos", "timezone": "UTC", "intake_email": address},
        headers=operator,
        timeout=15,
    )
    response.raise_for_status()
    return response.json()["id"], address


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("count", nargs="?", type=int, default=1000, help="referrals to post")
    parser.add_argument("--threads", type=int, default=4, help="client threads (default 4)")
    parser.add_argument("--rate", type=float, default=10.0, help="referrals/s (default 10)")
    parser.add_argument("--gap", type=float, default=5.0, help="seconds between kills")
    parser.add_argument("--wait", type=float, default=300.0, help="wait after the last kill (s)")
    parser.add_argument("--load-limit", type=float, default=900.0, help="cap on the load (s)")
    parser.add_argument(
        "--alerts", type=int, default=20, help="risk flags and crises each (SIGTERM step)"
    )
    parser.add_argument("--outage", type=float, default=150.0, help="broker held down at most (s)")
    args = parser.parse_args(argv)

    profile = Profile.test()
    stack = Stack(profile)
    print(f"chaos: starting a test stack (ports +{profile.port_offset}, {profile.data_dir})")
    os.environ.setdefault(monitoring.ALERT_FOR_MAX_ENV, ALERT_FOR_MAX)
    stack.start_all(timeout=180, service_timeout=180, monitoring=True)
    try:
        intake_url = profile.api_url("intake")
        site_id, address = create_site(intake_url)
        coordinator = mint_token(["coordinator"], [site_id], "chaos")
        load = Load(
            url=f"{intake_url}/v1/referrals",
            headers={"Authorization": f"Bearer {coordinator}"},
            site_id=site_id,
            total=args.count,
            threads=args.threads,
            rate=args.rate,
            give_up_at=time.monotonic() + args.load_limit,
        )
        print(
            f"chaos: {args.count} referrals, {args.rate:g}/s from {args.threads} threads; "
            "kills under load:"
        )
        started = time.monotonic()
        load.start()
        last_kill = run_kills(stack, load, args.gap)
        load.join()
        load_s = time.monotonic() - started
        print(f"chaos: load done in {load_s:.1f} s; waiting for the inbox and the mailbox")

        wanted = set(load.accepted.values())
        mongo = MongoClient(profile.mongodb_uri, serverSelectionTimeoutMS=10_000)

        def count() -> Arrivals:
            return count_arrivals(mongo, profile.mailpit_url, site_id, address)

        arrivals, arrived_after = wait_for_arrivals(count, wanted, last_kill, args.wait)
        if arrived_after is not None:
            time.sleep(SETTLE_S)
            arrivals = count()
        # index site_status (site_id, status, _id): equality on the site
        referrals = mongo["dbt_intake"].referrals.find({"site_id": site_id}, {"_id": 1})
        stored = {r["_id"] for r in referrals}
        code = report(load, wanted, arrivals, arrived_after, stored, load_s, mongo)
        print(f"\nchaos: SIGTERM during retry, {args.alerts} risk flags and crisis requests each")
        alerts = sigterm_during_retry(
            stack, profile, mongo, site_id, sorted(wanted), args.alerts, args.wait
        )
        code = max(code, report_alerts(alerts))
        print(f"\nchaos: the broker down (at most {args.outage:.0f} s) under load: {LAG_ALERT}")
        outage_load = Load(  # 2 referrals/s through the outage: the outbox fills
            url=load.url,
            headers=load.headers,
            site_id=site_id,
            total=int(args.outage * 2),
            threads=2,
            rate=2.0,
            give_up_at=time.monotonic() + args.outage + args.wait,
        )
        trail = lag_alert_on_broker_outage(stack, profile, outage_load, args.wait)
        return max(code, report_lag_alert(trail))
    finally:
        stack.stop_all()


def report(load, wanted, arrivals, arrived_after, stored, load_s, mongo) -> int:
    inbox_missing, email_missing = arrivals.missing(wanted)
    inbox_dup, email_dup = arrivals.duplicated(wanted)
    unknown = sum(n for r, n in arrivals.inbox.items() if r not in wanted)
    emails = sum(arrivals.emails.values())
    failures = ", ".join(f"{why} {n}" for why, n in load.failures.most_common()) or "none"
    print()
    print(f"referrals accepted       {len(load.accepted)} of {load.settled} in {load_s:.0f} s")
    print(f"  retried requests       {load.retries} ({failures})")
    print(f"  refused                {len(load.refused)}")
    print(f"  stored by intake       {len(stored)}")
    print(f"  accepted, then lost    {len(wanted - stored)} (answered 201, gone from intake)")
    print(f"inbox items missing      {inbox_missing}")
    print(f"inbox items duplicated   {inbox_dup}")
    print(f"inbox items unasked-for  {unknown}")
    print(f"emails sent              {emails}")
    print(f"  missing                {email_missing}")
    print(f"  duplicated             {email_dup} (email is at-least-once by design)")
    if arrived_after is None:
        print("everything arrived       not within the wait after the last kill")
    else:
        print(f"everything arrived       {arrived_after:.1f} s after the last kill")
    for n, why in sorted(load.refused.items())[:5]:
        print(f"  refused request {n}: {why}")
    problems = []
    if load.refused or len(load.accepted) < load.total:
        problems.append(f"{load.settled - len(load.accepted)} referrals not accepted")
    if wanted - stored:
        problems.append(f"{len(wanted - stored)} accepted referrals lost by intake")
    if inbox_missing or inbox_dup:
        problems.append(f"{inbox_missing} inbox items missing, {inbox_dup} duplicated")
    if arrived_after is None or arrived_after > ARRIVAL_LIMIT_S:
        problems.append(f"not everything arrived within {ARRIVAL_LIMIT_S:.0f} s of the last kill")
    if problems:
        for referral_id in sorted(r for r in wanted if arrivals.inbox[r] != 1)[:5]:
            print(f"  referral {referral_id}: {arrivals.inbox[referral_id]} inbox items")
        for referral_id in sorted(wanted - stored)[:5]:
            print(f"  referral {referral_id}: accepted, not in intake's database")
        print(f"  in flight: {stuck_work(mongo)}")
        print("FAIL: " + "; ".join(problems))
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
