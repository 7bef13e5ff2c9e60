"""``make bench``: the platform's figures on an empty stack and on a seeded one, in one run.

Starts a fresh test-profile stack (its data directory wiped), measures everything on it
("empty"), seeds a clinic-year into it through intake's use cases (``tests/bench/seed.py``),
measures everything again ("seeded"), prints both columns beside the targets, stops the stack.
Per phase, each measurement after the platform has caught up with the last one:

- the raw kafka-python producer ceiling on the same broker (1 KB values, acks=all, idempotent);
- referral -> inbox latency p50/p99 at an open-loop rate (POSTs sent on a schedule; from the
  moment each was due to its inbox item's ``created_at`` in notifications' database);
- referral -> inbox throughput under closed-loop load (``clients`` threads POSTing as fast as
  answered; first POST to last inbox item), and the API's own rate;
- the notifications consumer's catch-up rate: worker stopped, a backlog of
  ``intake.referral.received.v1`` events published, worker started, first to last inbox item;
- p99 of every list endpoint at an open-loop rate, with an operator's token;
- the crisis page: a client's crisis coaching request to the on-call clinician's SMS in the
  sink, p50 and p99, while ``crisis_rate`` referrals/s are posted to the measured site
  (``tests/bench/bench_crisis.py``; it runs alone too);
- CPU of every process of the stack (its whole process tree) at rest.

Figures only; nothing is asserted. Run it from the checkout as a module, ``python -m
tests.bench.bench_platform`` (it imports ``tests.support`` and its neighbours). Knobs, environment
variables (``make bench SEED=2000`` sets ``BENCH_SEED``): BENCH_SEED (referrals seeded,
20000; 0 skips the seeded phase), BENCH_SITES (20), BENCH_SEED_PROCESSES (5), BENCH_RAW
(records, 20000), BENCH_CLOSED (referrals, 1000), BENCH_CLIENTS (16), BENCH_RATE (referrals/s,
20), BENCH_OPEN_S (30), BENCH_BACKLOG (events, 10000), BENCH_LIST_RATE (requests/s, 50),
BENCH_LIST_S (per endpoint, 10), BENCH_CRISIS (crisis requests, 60), BENCH_CRISIS_RATE
(referrals/s meanwhile, 100), BENCH_QUIET_S (20), BENCH_CPU_S (30), BENCH_SETTLE_MAX (s, 900),
BENCH_SEED_SETTLE_MAX (s, 3600: the wait for the workers after seeding), BENCH_CONSOLE_USERS
(20), BENCH_CONSOLE_ROUNDS (10), BENCH_CONSOLE_FCP_LOADS (5), BENCH_CONSOLE_THINK_S (s between
one person's two pages, 2.0): the console section, after the
seeded phase (``tests/bench/bench_console.py``; it runs alone too).
``DEVSTACK_PORT_OFFSET`` moves the stack (ports and data directory) away from other test stacks.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

from pymongo import MongoClient

from dbt_shared.contracts import CATALOG
from dbt_shared.events.publisher import EventPublisher
from devstack import Profile, Stack, StackError, mint_token
from tests.bench import bench_console, bench_crisis
from tests.bench import bench_probe as probe
from tests.bench.bench_load import Http, closed_loop, open_loop, percentile, referral_body
from tests.bench.bench_report import LISTS, print_table
from tests.bench.seed import seed
from tests.support import referral_event


@dataclasses.dataclass(frozen=True)
class Config:
    seed: int = 20_000
    sites: int = 20
    seed_processes: int = 5
    raw: int = 20_000
    closed: int = 1_000
    clients: int = 16
    rate: float = 20.0
    open_s: float = 30.0
    backlog: int = 10_000
    list_rate: float = 50.0
    list_s: float = 10.0
    crisis: int = 60
    crisis_rate: float = 100.0
    quiet_s: float = 20.0
    cpu_s: float = 30.0
    settle_max: float = 900.0
    seed_settle_max: float = 3600.0
    console_users: int = 20
    console_rounds: int = 10
    console_fcp_loads: int = 5
    console_think_s: float = 2.0

    @classmethod
    def from_env(cls) -> Config:
        values = {}
        for f in dataclasses.fields(cls):
            raw = os.environ.get(f"BENCH_{f.name.upper()}", "").strip()
            if raw:
                values[f.name] = type(f.default)(raw)
        return cls(**values)


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def _since() -> datetime:
    # Items stored from now on (a second's margin; the platform is quiet before each step).
    return datetime.now(UTC) - timedelta(seconds=1)


class Bench:
    def __init__(self, cfg: Config, stack: Stack) -> None:
        self.cfg, self.stack, self.profile = cfg, stack, stack.profile
        self.mongo = MongoClient(self.profile.mongodb_uri, tz_aware=True)
        self.quiet = probe.Quiet(self.profile.kafka_bootstrap, self.mongo)
        self.operator = Http(mint_token(["operator"], [], "bench-operator", ttl_seconds=14_400))
        self.notes: list[str] = []
        self.current = ""  # the phase being measured

    def note(self, text: str) -> None:
        self.notes.append(f"{self.current}: {text}"[:300])

    def settle(self, what: str, max_s: float | None = None) -> None:
        waited, left = self.quiet.settle(self.cfg.settle_max if max_s is None else max_s)
        say(f"  settled after {what} in {waited:.0f} s" + (f" (still: {left})" if left else ""))
        if left:
            self.note(f"not quiet {waited:.0f} s after {what}: {left}")

    # -- sites -------------------------------------------------------------------------------
    def new_site(self) -> str:
        intake = self.profile.api_url("intake")
        site = self.operator.created(
            f"{intake}/v1/sites",
            {
                "name": "Bench clinic",
                "timezone": "UTC",
                "intake_email": f"bench-{uuid.uuid4().hex[:6]}@bench.example.org",
                "clinical_lead": {"name": "Bench lead", "email": "lead@bench.example.org"},
            },
        )
        self.operator.post(f"{intake}/v1/sites/{site}/programs", {"kind": "adult", "settings": {}})
        for n in range(3):
            self.operator.post(
                f"{intake}/v1/sites/{site}/clinicians",
                {
                    "subject": f"bench|{n}",
                    "display_name": f"Therapist {n}",
                    "roles": ["therapist"],
                    "programs": ["adult"],
                    "languages": ["en"],
                    "caseload_limit": 50,
                },
            )
        return site

    def seeded_site(self) -> str | None:
        answer = self.operator.get(f"{self.profile.api_url('intake')}/v1/sites?limit=200").json()
        seeded = sorted((s["name"], s["id"]) for s in answer["items"] if "Seed" in s["name"])
        return seeded[0][1] if seeded else None

    # -- one phase ---------------------------------------------------------------------------
    def phase(self, name: str, site: str) -> dict[str, float | None]:
        fig: dict[str, float | None] = {}
        self.current = name
        coordinator = Http(mint_token(["coordinator"], [site], "bench-coord", ttl_seconds=14_400))
        referrals = f"{self.profile.api_url('intake')}/v1/referrals"

        def send(_i: int) -> str:
            return coordinator.created(referrals, referral_body(site))

        steps = (
            ("raw producer ceiling", lambda: self.raw(name, fig)),
            ("warm-up", lambda: self.warm_up(site, send)),
            ("open-loop latency", lambda: self.latency(site, send, fig)),
            ("closed-loop throughput", lambda: self.throughput(site, send, fig)),
            ("consumer catch-up", lambda: self.catch_up(site, fig)),
            ("list endpoints", lambda: self.lists(site, fig)),
            ("crisis page latency", lambda: self.crisis(site, fig)),
            ("CPU at rest", lambda: self.at_rest(fig)),
        )
        for label, step in steps:
            say(f"{name}: {label}")
            try:
                step()
            except StackError:
                raise
            except Exception as exc:  # a figure missing, not the run
                self.note(f"{label} failed: {exc!r}")
                say(f"  failed: {exc!r}"[:300])
            if label not in ("raw producer ceiling", "CPU at rest"):
                self.settle(label)
        return fig

    def raw(self, phase: str, fig: dict) -> None:
        fig["raw"] = probe.raw_ceiling(
            self.profile.kafka_bootstrap, f"bench.raw.{phase}", self.cfg.raw
        )

    def warm_up(self, site: str, send) -> None:
        since = _since()
        ids = {send(i) for i in range(10)}
        probe.inbox_times(self.mongo, site, since, ids, timeout=60)

    def latency(self, site: str, send, fig: dict) -> None:
        since = _since()
        outcomes = open_loop(send, self.cfg.rate, self.cfg.open_s)
        sent = {o.result: o.due_at for o in outcomes if o.ok}
        stored = probe.inbox_times(self.mongo, site, since, set(sent), timeout=120)
        seconds = [stored[r] - at for r, at in sent.items() if r in stored]
        fig["lat_p50"], fig["lat_p99"] = (_ms(percentile(seconds, q)) for q in (0.5, 0.99))
        api = [o.seconds for o in outcomes if o.ok]
        fig["post_p50"], fig["post_p99"] = (_ms(percentile(api, q)) for q in (0.5, 0.99))
        self._missing("latency", outcomes, sent, stored)

    def throughput(self, site: str, send, fig: dict) -> None:
        since = _since()
        outcomes = closed_loop(send, self.cfg.closed, self.cfg.clients)
        sent = {o.result: o.due_at for o in outcomes if o.ok}
        stored = probe.inbox_times(
            self.mongo, site, since, set(sent), timeout=max(120.0, self.cfg.closed / 10)
        )
        first = min(o.due_at for o in outcomes)
        answered = max(o.due_at + o.seconds for o in outcomes)
        done = [stored[r] for r in sent if r in stored]
        fig["e2e_rate"] = len(done) / (max(done) - first) if done else None
        fig["api_rate"] = len(sent) / (answered - first)
        self._missing("throughput", outcomes, sent, stored)

    def catch_up(self, site: str, fig: dict) -> None:
        worker = self.stack.process("notifications", "worker")
        if worker is not None:
            worker.stop()
        events = [referral_event(site) for _ in range(self.cfg.backlog)]
        try:
            publisher = EventPublisher(self.profile.kafka_bootstrap, "bench", CATALOG)
            try:
                for start in range(0, len(events), 500):
                    publisher.publish(events[start : start + 500])
            finally:
                publisher.close()
        finally:  # the worker comes back whatever happened
            since, restarted = _since(), time.time()
            self.stack.start_service("notifications", "worker", timeout=120)
        wanted = {e.data["referral_id"] for e in events}
        stored = probe.inbox_times(
            self.mongo, site, since, wanted, timeout=max(120.0, len(events) / 20)
        )
        times = sorted(stored.values())
        if len(times) > 1:
            fig["catchup"] = (len(times) - 1) / (times[-1] - times[0])
            fig["catchup_all"] = len(times) / (times[-1] - restarted)
            fig["catchup_start"] = times[0] - restarted
        if len(times) < len(events):
            self.note(f"catch-up: {len(events) - len(times)} of {len(events)} not stored")

    def lists(self, site: str, fig: dict) -> None:
        for service, path in LISTS:
            url = self.profile.api_url(service) + path.format(site=site)
            outcomes = open_loop(
                lambda _i, u=url: self.operator.ok(u), self.cfg.list_rate, self.cfg.list_s
            )
            good = [o.seconds for o in outcomes if o.ok]
            p99 = fig[f"list:{service}:{path}"] = _ms(percentile(good, 0.99))
            failed = len(outcomes) - len(good)
            if failed or (p99 or 0) > 50:
                span = max(o.due_at + o.seconds for o in outcomes) - outcomes[0].due_at
                self.note(
                    f"GET {service} {path}: p50 {_ms(percentile(good, 0.5)) or 0:.0f} ms, "
                    f"{len(good) / span:.0f} answered/s of {self.cfg.list_rate:g}/s, "
                    f"{failed} failed"
                )

    def crisis(self, site: str, fig: dict) -> None:
        crisis_site = bench_crisis.prepare(self.profile, self.operator, self.cfg.crisis)
        self.settle("the crisis site's admissions")
        times, outcomes = bench_crisis.measure(
            self.profile, crisis_site, site, self.cfg.crisis_rate, self.cfg.crisis
        )
        failed, sent = sum(1 for o in outcomes if not o.ok), len(outcomes)
        fig.update(bench_crisis.figures(times))
        if failed or len(times) < self.cfg.crisis:
            self.note(
                f"crisis: {len(times)} of {self.cfg.crisis} requests measured, "
                f"{failed} of {sent} referral POSTs failed"
            )

    def at_rest(self, fig: dict) -> None:
        time.sleep(self.cfg.quiet_s)
        shares = probe.cpu(self.stack, self.cfg.cpu_s)
        for process, share in shares.items():
            fig[f"cpu:{process}"] = share
        fig["cpu:total"] = sum(shares.values())

    def _missing(self, what: str, outcomes, sent: dict, stored: dict) -> None:
        failed = len(outcomes) - len(sent)
        lost = sum(1 for r in sent if r not in stored)
        if failed or lost:
            self.note(f"{what}: {failed} POSTs failed, {lost} without an inbox item")

    def close(self) -> None:
        self.quiet.close()
        self.mongo.close()


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


def main() -> None:
    cfg = Config.from_env()
    profile = Profile.test()
    running = Stack.attach(profile).processes
    if running:
        sys.exit(
            f"a test stack runs in {profile.data_dir} ({', '.join(sorted(running))}); starting "
            "another would stop it. Set DEVSTACK_PORT_OFFSET to a free offset, e.g. 20000."
        )
    began, load = time.monotonic(), os.getloadavg()
    say(f"bench: {cfg}")
    say(f"starting the test stack (port offset {profile.port_offset}, {profile.data_dir})")
    stack = Stack(profile)
    stack.start_all(timeout=180, service_timeout=120)
    results: dict[str, dict[str, float | None]] = {}
    bench = None
    try:
        bench = Bench(cfg, stack)
        results["empty"] = bench.phase("empty", bench.new_site())
        if cfg.seed > 0:
            say(f"seeding {cfg.seed} referrals over {cfg.sites} sites")
            started = time.monotonic()
            made = seed("test", cfg.sites, cfg.seed, "bench", cfg.seed_processes)
            say(f"  seeded {made} in {time.monotonic() - started:.0f} s")
            bench.current = "seeded"
            bench.settle("seeding", cfg.seed_settle_max)
            site = bench.seeded_site() or bench.new_site()
            results["seeded"] = bench.phase("seeded", site)
            say("seeded: the staff console")
            try:  # the console section (tests/bench/bench_console.py)
                figures, notes = bench_console.measure(stack, site, cfg)
                results["seeded"].update(figures)
                bench.notes.extend(f"seeded: {note}" for note in notes)
            except StackError:
                raise
            except Exception as exc:  # the console's figures missing, not the run's
                bench.note(f"console failed: {exc!r}")
        context = (
            f"{os.cpu_count()} cores; load average {load[0]:.1f} at the start, "
            f"{os.getloadavg()[0]:.1f} at the end; {(time.monotonic() - began) / 60:.0f} min; "
            "the bench's own clients run on the same cores"
        )
        print_table(cfg, results, bench.notes, context)
    finally:
        if bench is not None:
            bench.close()
        stack.stop_all()


if __name__ == "__main__":
    main()
