"""Chaos run: referrals under load while the relay, a consumer, an api, the broker and the
database are each SIGKILLed and restarted; then every referral must reach the site's inbox
exactly once, and its email the mailbox.

Run with ``make chaos`` (``N=1000`` referrals by default), which runs
``python -m tests.bench.chaos`` from the repository's root. It starts a fresh test-profile stack
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

Here: the kills, what arrived, and the run; the load is in ``chaos_load``, the SIGTERM step in
``chaos_retry``, the consumer-lag alert in ``chaos_lag_alert``.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import sys
import time
import uuid
from dataclasses import dataclass

import requests
from pymongo import MongoClient

from devstack import INFRASTRUCTURE, Profile, Stack, mint_token, monitoring
from devstack.supervisor import BACKOFF_FIRST
from tests.bench.chaos_lag_alert import (
    ALERT_FOR_MAX,
    LAG_ALERT,
    lag_alert_on_broker_outage,
    report_lag_alert,
)
from tests.bench.chaos_load import ARRIVAL_LIMIT_S, SETTLE_S, Load
from tests.bench.chaos_retry import report_alerts, sigterm_during_retry

#: What is killed, in this order, and the stack processes that make it up.
KILLS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("relay", ("intake-worker",)),
    ("consumer", ("notifications-worker",)),
    ("api", ("intake-api",)),
    ("broker", ("kafka",)),
    ("database", ("postgres", "ferretdb")),
)


REFERENCE = re.compile(r"Reference:\s*(\S+)")


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
