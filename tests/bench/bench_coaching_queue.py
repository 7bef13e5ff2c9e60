"""The live coaching queue's update latency, seen in the browser: how long after a crisis
request is created the on-call clinician's open queue shows it (issue #21: p99 <= 1 s).

theo (the dev therapist, primary on call all day at a site of his own) signs in through
Keycloak in Debian's Chromium and opens the queue; then ``BENCH_QUEUE_REQUESTS`` (30) crisis
requests, each from a different client token and a random 0.5-2.5 s apart, are posted to
coaching. A MutationObserver in the page stamps each request's card as it appears; the latency
is that stamp minus the moment just before the POST (one machine, one clock). Also printed:
how many polls the page made and how many of them answered 204 (nothing to swap), and
coaching's CPU seconds while the queue sat open with nothing arriving (``BENCH_QUEUE_IDLE_S``,
20 s).

Figures only, nothing asserted. ``python -m tests.bench.bench_coaching_queue`` starts a
test-profile stack with Keycloak and the console (``DEVSTACK_PORT_OFFSET`` moves it),
measures, prints and stops it.
"""

from __future__ import annotations

import os
import random
import sys
import time
import uuid

import psutil
import requests
from playwright.sync_api import sync_playwright

from devstack import Profile, Stack, mint_token
from tests.bench.bench_load import percentile

THEO = "0c1e0000-0000-4000-8000-00000000000d"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
OBSERVER = """() => {
  window.seen = {};
  window.polls = 0;
  document.body.addEventListener('htmx:afterRequest', (e) => {
    window.polls += 1;
    if (e.detail.xhr && e.detail.xhr.status === 204) window.quiet = (window.quiet || 0) + 1;
  });
  new MutationObserver(() => {
    for (const el of document.querySelectorAll('[data-request]')) {
      if (!(el.dataset.request in window.seen)) window.seen[el.dataset.request] = Date.now();
    }
  }).observe(document.body, {childList: true, subtree: true});
}"""


def say(text: str) -> None:
    print(text, flush=True)


def _ok(response: requests.Response) -> dict:
    assert response.status_code in (200, 201), response.text
    return response.json()


def set_up(profile: Profile) -> str:
    """A site with theo primary on call all day and a backup, as its operator would."""
    tag = uuid.uuid4().hex[:6]
    operator = {"Authorization": "Bearer " + mint_token(["operator"], [], "bench-queue-op")}
    intake = profile.api_url("intake")
    site = _ok(
        requests.post(
            f"{intake}/v1/sites",
            json={
                "name": f"Queue bench {tag}",
                "timezone": "Europe/London",
                "intake_email": f"intake-{tag}@clinic.example.org",
            },
            headers={**operator, "Idempotency-Key": str(uuid.uuid4())},
            timeout=30,
        )
    )["id"]
    _ok(
        requests.post(
            f"{intake}/v1/sites/{site}/programs",
            json={"kind": "adult"},
            headers=operator,
            timeout=30,
        )
    )
    ids = []
    for name, subject in (("Theo Tran", THEO), ("Bea Backup", f"bench-{tag}")):
        ids.append(
            _ok(
                requests.post(
                    f"{intake}/v1/sites/{site}/clinicians",
                    json={
                        "subject": subject,
                        "display_name": name,
                        "roles": ["therapist"],
                        "programs": ["adult"],
                        "languages": ["en"],
                        "caseload_limit": 12,
                    },
                    headers={**operator, "Idempotency-Key": str(uuid.uuid4())},
                    timeout=30,
                )
            )["id"]
        )
    found = requests.get(f"{intake}/v1/staff/{THEO}", headers=operator, timeout=30)
    memberships = found.json().get("memberships", []) if found.status_code == 200 else []
    memberships = [m for m in memberships if m["site_id"] != site]
    memberships.append({"site_id": site, "roles": ["therapist"]})
    _ok(
        requests.put(
            f"{intake}/v1/staff/{THEO}",
            json={"display_name": "Theo Tran", "memberships": memberships},
            headers=operator,
            timeout=30,
        )
    )
    coaching = profile.api_url("coaching")
    coordinator = {"Authorization": "Bearer " + mint_token(["coordinator"], [site], "bench-c")}
    every_day = [{"weekday": d, "start": "00:00", "end": "24:00"} for d in WEEKDAYS]
    rota = {
        "primary": [{**d, "clinician_id": ids[0]} for d in every_day],
        "backup": [{**d, "clinician_id": ids[1]} for d in every_day],
    }
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        hours = requests.put(
            f"{coaching}/v1/sites/{site}/coaching-hours",
            json={"hours": every_day},
            headers=coordinator,
            timeout=30,
        )
        placed = requests.put(
            f"{coaching}/v1/sites/{site}/rota", json=rota, headers=coordinator, timeout=30
        )
        if hours.status_code == 200 and placed.status_code == 200:
            return site
        time.sleep(1)
    raise SystemExit("coaching did not learn the bench site in 90 s")


def measure(profile: Profile, stack: Stack, site: str, n: int, idle_s: float) -> None:
    coaching = profile.api_url("coaching")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=os.environ.get("CONSOLE_BROWSER", "/usr/bin/chromium"),
            args=["--no-sandbox"],
            headless=True,
        )
        page = browser.new_context(base_url=profile.console_url).new_page()
        page.set_default_timeout(60_000)
        page.goto("/auth/sign-in")
        page.locator("#username").fill("theo")
        page.locator("#password").fill("theo")
        page.locator("#kc-login").click()
        page.wait_for_url(lambda url: url.startswith(profile.console_url + "/"))
        deadline = time.monotonic() + 90
        while True:  # the directory's membership reaches the console and coaching
            page.goto(f"/coaching?site={site}")
            if page.locator("#coaching-queue[hx-get]").count():
                break
            if time.monotonic() > deadline:
                raise SystemExit("theo's queue did not open in 90 s")
            time.sleep(2)
        page.evaluate(OBSERVER)

        coaching_proc = _process(stack, "coaching")
        cpu_before = _cpu(coaching_proc)
        page.wait_for_timeout(idle_s * 1000)
        idle_cpu = _cpu(coaching_proc) - cpu_before
        idle_polls = page.evaluate("() => window.polls")

        posted: dict[str, float] = {}
        for _ in range(n):
            time.sleep(random.uniform(0.5, 2.5))
            client = uuid.uuid4().hex
            token = mint_token(["client"], [site], client)
            at = time.time() * 1000
            answer = requests.post(
                f"{coaching}/v1/coaching-requests",
                json={"kind": "crisis"},
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
            posted[_ok(answer)["id"]] = at
        page.wait_for_function(f"() => Object.keys(window.seen).length >= {n}", timeout=60_000)
        seen = page.evaluate("() => window.seen")
        polls, quiet = page.evaluate("() => [window.polls, window.quiet || 0]")
        browser.close()
    latencies = sorted(seen[rid] - at for rid, at in posted.items() if rid in seen)
    say(f"coaching queue, {len(latencies)} crisis requests seen in the browser:")
    say(
        f"  update latency p50 {percentile(latencies, 0.5):.0f} ms, "
        f"p99 {percentile(latencies, 0.99):.0f} ms, max {latencies[-1]:.0f} ms (target p99 <= 1000)"
    )
    say(f"  polls {polls}, of which {quiet} answered 204 (nothing to swap)")
    say(
        f"  load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (the stack, Chromium "
        "and this script share them)"
    )
    say(
        f"  queue open and quiet for {idle_s:.0f} s: {idle_polls} polls, coaching used "
        f"{idle_cpu:.2f} CPU s ({idle_cpu / idle_s * 100:.1f}% of one core)"
    )


def _process(stack: Stack, name: str):
    proc = stack.process(name, "api")  # the api's gunicorn (its workers are its children)
    return psutil.Process(proc.pid) if proc is not None else None


def _cpu(proc) -> float:
    if proc is None:
        return float("nan")
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            times = p.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return total


def main() -> None:
    profile = Profile.test()
    if Stack.attach(profile).processes:
        sys.exit(f"a test stack runs in {profile.data_dir}; set DEVSTACK_PORT_OFFSET elsewhere")
    stack = Stack(profile)
    say(f"starting the test stack (port offset {profile.port_offset})")
    stack.start_all(timeout=180, service_timeout=120, console=True)
    try:
        site = set_up(profile)
        measure(
            profile,
            stack,
            site,
            int(os.environ.get("BENCH_QUEUE_REQUESTS", "30")),
            float(os.environ.get("BENCH_QUEUE_IDLE_S", "20")),
        )
    finally:
        stack.stop_all()


if __name__ == "__main__":
    main()
