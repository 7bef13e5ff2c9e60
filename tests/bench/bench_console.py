"""``make bench``'s console section: signed-in staff at once on the console's busiest pages of
the seeded clinic-year, and the largest list pages' first render in Chromium.

- Sign-in: each of ``users`` sessions (half the dev operator ``olivia``, half the dev intake
  coordinator ``carla``, given the measured site in the staff directory) is a real sign-in
  through Keycloak: the console's authorization code flow with PKCE, Keycloak's login form
  posted as a browser posts it. Each session signs in ONCE and then reuses its console cookie
  for every page, as a browser does (the console renews its tokens by itself).
- Load: all sessions at once, each opening its role's pages (``PAGES``) in a shuffled order,
  ``rounds`` times, after one warm-up round that is not counted, pausing between two pages as a
  person reads one (``think_s`` on average: uniform from half to one and a half times it; the
  default 2 s has 20 staff open about 9 pages a second together, more than a clinic's 20 people
  at work do). Per page: p95 server time (the
  console's own ``Server-Timing: app`` figure: from the request reaching Flask to the response
  built, service calls and template included), p95 time to last byte seen by the client over
  HTTP on 127.0.0.1 (adds gunicorn's queue and the client's own share of the cores), and the
  most service calls one view of the page made (the console's ``Console-Service-Calls``).
- Capacity: then the same sessions with no pause at all (a closed loop: each opens its next
  page the moment the last one arrives), ``max(2, rounds // 5)`` rounds: the pages per second
  the machine serves and their p95 server time, every page together. No person works that way;
  it shows the ceiling, and how far the paced figures are from it.
- First render: Debian's Chromium through Playwright, signed in as the operator, each list page
  loaded ``fcp_loads`` times after a warm-up; the median first-contentful-paint from the
  Performance API (navigation start to first paint), with nothing else loading.

Figures only, nothing asserted. In ``make bench`` it runs after the seeded phase
(``bench_platform``); alone, ``python -m tests.bench.bench_console`` starts a test-profile stack
with Keycloak and the console (``DEVSTACK_PORT_OFFSET`` moves it), seeds ``BENCH_SEED``
referrals over ``BENCH_SITES`` sites, measures, prints, and stops it. Knobs:
BENCH_CONSOLE_USERS (20), BENCH_CONSOLE_ROUNDS (10), BENCH_CONSOLE_THINK_S (2.0; 0: every round
with no pause), BENCH_CONSOLE_FCP_LOADS (5).
"""

from __future__ import annotations

import html
import os
import random
import re
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field

import requests

from devstack import Profile, Stack, mint_token
from tests.bench.bench_load import Http, percentile
from tests.bench.bench_report import CONSOLE_LIST_PAGES, CONSOLE_PAGES

#: The dev coordinator's fixed id in the realm (deploy/local/keycloak/realm-dbt.json).
CARLA = "0c1e0000-0000-4000-8000-00000000000b"
#: Each page measured: its path ({site}, {referral}) and who opens it (#21's pages: groups,
#: the coaching queue and the on-call rota, as an operator and a coordinator see them).
PATHS = {
    "organisation": "/organisation",
    "queue": "/referrals?site={site}&stage=screening",
    "waitlist": "/referrals?site={site}",
    "referral": "/referrals/{referral}",
    "inbox": "/inbox?site={site}",
    "staff": "/staff",
    "groups": "/groups",
    "coaching": "/coaching?site={site}",
    "rota": "/rota?site={site}",
}
ROLE_PAGES = {
    "olivia": tuple(key for key, _ in CONSOLE_PAGES),
    "carla": tuple(key for key, _ in CONSOLE_PAGES if key not in ("organisation", "staff")),
}
SERVER_TIME = re.compile(r"\bapp;dur=([0-9.]+)")


@dataclass
class Sample:
    page: str
    status: int
    server_ms: float | None
    ttlb_ms: float
    calls: int | None


@dataclass
class Run:
    samples: list[Sample] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, sample: Sample) -> None:
        with self.lock:
            self.samples.append(sample)

    def note(self, text: str) -> None:
        with self.lock:
            self.notes.append(text[:300])


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


# -- sign-in through Keycloak ----------------------------------------------------------------
def signed_in(profile: Profile, user: str) -> requests.Session:
    """A session signed in to the console as ``user`` through Keycloak's login form."""
    browser = requests.Session()
    login = browser.get(f"{profile.console_url}/auth/sign-in", timeout=90)
    if not login.url.startswith(profile.keycloak_issuer):
        raise RuntimeError(f"sign-in did not reach Keycloak: {login.status_code} {login.url}")
    # Keycloak's cookies are Secure; a browser sends them to 127.0.0.1 over plain http (a
    # trustworthy origin), Python's cookie jar does not: sent here as a browser would.
    for cookie in browser.cookies:
        cookie.secure = False
    action = re.search(r'<form[^>]*id="kc-form-login"[^>]*action="([^"]+)"', login.text)
    if action is None:
        raise RuntimeError("no login form on Keycloak's page")
    done = browser.post(
        html.unescape(action.group(1)), data={"username": user, "password": user}, timeout=90
    )
    if not done.url.startswith(profile.console_url + "/"):
        raise RuntimeError(f"{user}'s sign-in ended at {done.url}")
    return browser


def _give_carla_the_site(profile: Profile, site: str) -> None:
    """The coordinator works at the measured site (the staff directory, as an operator gives
    it); every intake process learns it from the event within moments."""
    operator = Http(mint_token(["operator"], [], "bench-console-operator"))
    answer = operator.put(
        f"{profile.api_url('intake')}/v1/staff/{CARLA}",
        {
            "display_name": "Carla Coordinator",
            "memberships": [{"site_id": site, "roles": ["coordinator"]}],
            "active": True,
        },
    )
    if not answer.ok:
        raise RuntimeError(f"PUT /v1/staff/carla answered {answer.status_code}")


def _ready(profile: Profile, user: str, page: str, timeout: float = 120) -> requests.Session:
    """A session of ``user`` that opens ``page``: the console reads the staff directory at
    sign-in, so while intake has not yet learned the site given just now, sign in again."""
    deadline = time.monotonic() + timeout
    while True:
        session = signed_in(profile, user)
        status = session.get(page, allow_redirects=False, timeout=60).status_code
        if status == 200:
            return session
        if time.monotonic() > deadline:
            raise RuntimeError(f"{user} still gets {status} for the waitlist after {timeout:g} s")
        time.sleep(1)


def _referrals(profile: Profile, site: str) -> list[str]:
    """Referrals of the measured site to open (the waitlist's first page: oldest first)."""
    operator = Http(mint_token(["operator"], [], "bench-console-operator"))
    found = operator.get(f"{profile.api_url('intake')}/v1/waitlist?site_id={site}&limit=50")
    return [item["referral_id"] for item in found.json().get("items") or []]


# -- the load --------------------------------------------------------------------------------
def _open(session: requests.Session, base: str, page: str, path: str, run: Run | None) -> None:
    started = time.perf_counter()
    answer = session.get(base + path, allow_redirects=False, timeout=60)
    _ = answer.content  # to the last byte
    ttlb = (time.perf_counter() - started) * 1000
    timing = SERVER_TIME.search(answer.headers.get("Server-Timing", ""))
    calls = answer.headers.get("Console-Service-Calls")
    if run is None:
        return
    run.add(
        Sample(
            page,
            answer.status_code,
            float(timing.group(1)) if timing else None,
            ttlb,
            int(calls) if calls and calls.isdigit() else None,
        )
    )


def _user(
    profile, session, user, site, referrals, rounds, think_s, run, start: threading.Barrier
) -> None:
    rng = random.Random(f"{user}/{id(session)}")
    pages = list(ROLE_PAGES[user])

    def path(page: str) -> str:
        return PATHS[page].format(site=site, referral=rng.choice(referrals))

    try:
        for page in pages:  # warm-up: not counted
            _open(session, profile.console_url, page, path(page), None)
        start.wait(timeout=300)
        if think_s:  # the staff do not all start at one instant
            time.sleep(rng.uniform(0, think_s))
        for _ in range(rounds):
            rng.shuffle(pages)
            for page in pages:
                _open(session, profile.console_url, page, path(page), run)
                if think_s:
                    time.sleep(rng.uniform(0.5, 1.5) * think_s)
    except Exception as exc:  # a session's figures missing, not the run
        run.note(f"console: {user}'s session failed: {exc!r}")


def sign_in(
    profile: Profile, site: str, users: int, run: Run
) -> list[tuple[str, requests.Session]]:
    """``users`` sessions signed in through Keycloak, half of them the coordinator."""
    try:
        _give_carla_the_site(profile, site)
        names = ["olivia" if n % 2 == 0 else "carla" for n in range(users)]
    except Exception as exc:
        run.note(f"console: the coordinator got no site ({exc!r}); every session is olivia")
        names = ["olivia"] * users
    first_page = f"{profile.console_url}{PATHS['waitlist'].format(site=site)}"
    sessions = [(name, _ready(profile, name, first_page)) for name in names]
    say(f"  {len(sessions)} sessions signed in through Keycloak ({names.count('carla')} carla)")
    return sessions


def load(profile, site, sessions, rounds: int, think_s: float, run: Run) -> None:
    """Every session at once through its pages, ``rounds`` times, ``think_s`` apart."""
    referrals = _referrals(profile, site) or ["none"]
    start = threading.Barrier(len(sessions))
    threads = [
        threading.Thread(
            target=_user,
            args=(profile, s, name, site, referrals, rounds, think_s, run, start),
            daemon=True,
        )
        for name, s in sessions
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


# -- first render in Chromium ----------------------------------------------------------------
FCP = "performance.getEntriesByName('first-contentful-paint').map(e => e.startTime)[0] ?? null"


def first_paints(profile: Profile, site: str, loads: int, run: Run) -> dict[str, float]:
    """Median first-contentful-paint (ms) of each list page, signed in as the operator."""
    from playwright.sync_api import sync_playwright

    found: dict[str, float] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox"]
        )
        try:
            page = browser.new_context(base_url=profile.console_url).new_page()
            page.goto("/auth/sign-in")
            page.locator("#username").fill("olivia")
            page.locator("#password").fill("olivia")
            page.locator("#kc-login").click()
            page.wait_for_url(lambda url: url.startswith(profile.console_url + "/"))
            for key, _label in CONSOLE_LIST_PAGES:
                path = PATHS[key].format(site=site, referral="")
                page.goto(path)  # warm-up: the assets cached as a returning user has them
                paints = []
                for _ in range(loads):
                    page.goto(path, wait_until="load")
                    # a small page can fire "load" before its first paint is reported (asked
                    # again from here: the console's CSP refuses a function made from a string)
                    paint, until = page.evaluate(FCP), time.monotonic() + 5
                    while paint is None and time.monotonic() < until:
                        time.sleep(0.05)
                        paint = page.evaluate(FCP)
                    if paint is not None:
                        paints.append(float(paint))
                if paints:
                    found[key] = statistics.median(paints)
                else:
                    run.note(f"console: no first paint reported for {path}")
        finally:
            browser.close()
    return found


# -- the figures ------------------------------------------------------------------------------
def figures(run: Run, paints: dict[str, float], closed: Run, closed_s: float):
    fig: dict[str, float | None] = {}
    served = [s.server_ms for s in closed.samples if s.status == 200 and s.server_ms is not None]
    if served and closed_s > 0:
        fig["console:closed:rate"] = len(closed.samples) / closed_s
        fig["console:closed:p95"] = percentile(served, 0.95)
    for key, _label in CONSOLE_PAGES:
        mine = [s for s in run.samples if s.page == key]
        good = [s for s in mine if s.status == 200]
        if len(good) < len(mine):
            statuses = sorted({s.status for s in mine if s.status != 200})
            run.note(f"console {key}: {len(mine) - len(good)} of {len(mine)} answered {statuses}")
        if not good:
            continue
        server = [s.server_ms for s in good if s.server_ms is not None]
        fig[f"console:{key}:p95"] = percentile(server, 0.95)
        fig[f"console:{key}:p50"] = percentile(server, 0.5)
        fig[f"console:{key}:ttlb95"] = percentile([s.ttlb_ms for s in good], 0.95)
        calls = [s.calls for s in good if s.calls is not None]
        fig[f"console:{key}:calls"] = max(calls) if calls else None
        fig[f"console:{key}:n"] = len(good)
    for key, paint in paints.items():
        fig[f"console:{key}:fcp"] = paint
    return fig


def measure(stack: Stack, site: str, cfg) -> tuple[dict[str, float | None], list[str]]:
    """Keycloak and the console started (unless they run), then the load, the closed loop and
    the first paints (``cfg``: the bench's ``Config``, its ``console_*`` knobs); the figures
    and the notes."""
    users, rounds, think_s = cfg.console_users, cfg.console_rounds, cfg.console_think_s
    fcp_loads = cfg.console_fcp_loads
    profile = stack.profile
    run, closed = Run(), Run()
    say("console: starting Keycloak and the console")
    stack.start_keycloak()
    stack.start_console(timeout=120)
    sessions = sign_in(profile, site, users, run)
    say(f"console: {users} sessions x {rounds} rounds of their pages, ~{think_s:g} s apart")
    began = time.monotonic()
    load(profile, site, sessions, rounds, think_s, run)
    say(f"  {len(run.samples)} pages in {time.monotonic() - began:.0f} s")
    say("console: the same sessions with no pause (capacity)")
    began = time.monotonic()
    load(profile, site, sessions, max(2, rounds // 5), 0.0, closed)
    closed_s = time.monotonic() - began
    say(f"  {len(closed.samples)} pages in {closed_s:.0f} s")
    run.notes.extend(closed.notes)
    paints: dict[str, float] = {}
    try:
        say(f"console: first paint in Chromium, {fcp_loads} loads per list page")
        paints = first_paints(profile, site, fcp_loads, run)
    except Exception as exc:
        run.note(f"console: first paints failed: {exc!r}")
    return figures(run, paints, closed, closed_s), run.notes


def main() -> None:
    from pymongo import MongoClient

    from tests.bench import bench_probe as probe
    from tests.bench.bench_platform import Config
    from tests.bench.bench_report import print_table
    from tests.bench.seed import seed

    cfg = Config.from_env()
    profile = Profile.test()
    if Stack.attach(profile).processes:
        sys.exit(f"a test stack runs in {profile.data_dir}; set DEVSTACK_PORT_OFFSET elsewhere")
    began, load_at_start = time.monotonic(), os.getloadavg()
    stack = Stack(profile)
    say(f"starting the test stack (port offset {profile.port_offset})")
    stack.start_all(timeout=180, service_timeout=120, console=True)
    try:
        mongo = MongoClient(profile.mongodb_uri, tz_aware=True)
        quiet = probe.Quiet(profile.kafka_bootstrap, mongo)
        try:
            say(f"seeding {cfg.seed} referrals over {cfg.sites} sites")
            started = time.monotonic()
            made = seed("test", cfg.sites, cfg.seed, "bench", cfg.seed_processes)
            say(f"  seeded {made} in {time.monotonic() - started:.0f} s")
            waited, left = quiet.settle(cfg.seed_settle_max)
            say(f"  settled in {waited:.0f} s" + (f" (still: {left})" if left else ""))
        finally:
            quiet.close()
            mongo.close()
        operator = Http(mint_token(["operator"], [], "bench-console-operator"))
        sites = operator.get(f"{profile.api_url('intake')}/v1/sites?limit=200").json()["items"]
        site = sorted((s["name"], s["id"]) for s in sites if "Seed" in s["name"])[0][1]
        fig, notes = measure(stack, site, cfg)
        context = (
            f"{os.cpu_count()} cores; load average {load_at_start[0]:.1f} at the start, "
            f"{os.getloadavg()[0]:.1f} at the end; {(time.monotonic() - began) / 60:.0f} min; "
            "the bench's own clients and Chromium run on the same cores"
        )
        print_table(cfg, {"seeded": fig}, notes, context, only="console:")
    finally:
        stack.stop_all()


if __name__ == "__main__":
    main()
