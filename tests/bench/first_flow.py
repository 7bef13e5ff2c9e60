"""Benchmark: how long from a recorded referral to the site's inbox and to the intake mailbox.

Run with ``make bench`` (starts the test-profile stack, sends N referrals one after another,
prints latency percentiles). Prints figures; asserts nothing: targets are read, not enforced.
"""

from __future__ import annotations

import statistics
import sys
import time
import uuid

import requests

from devstack import Profile, Stack, mint_token


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main(count: int = 30) -> None:
    profile = Profile.test()
    stack = Stack(profile)
    stack.start_all(timeout=180, service_timeout=120)
    try:
        intake, notifications = profile.api_url("intake"), profile.api_url("notifications")
        operator = {"Authorization": f"Bearer {mint_token(['operator'], [], 'bench-op')}"}
        email = f"bench-{uuid.uuid4().hex[:6]}@example.org"
        site = requests.post(
            f"{intake}/v1/sites",
            json={"name": "Bench", "timezone": "UTC", "intake_email": email},
            headers=operator,
            timeout=10,
        ).json()["id"]
        coordinator = {"Authorization": f"Bearer {mint_token(['coordinator'], [site], 'bench')}"}
        api_ms, inbox_s, mail_s = [], [], []
        for n in range(count):
            started = time.perf_counter()
            referral = requests.post(
                f"{intake}/v1/referrals",
                json={
                    "site_id": site,
                    "program": "adult",
                    "source": "bench",
                    "consent_to_contact": True,
                    "client": {
                        "given_name": "Bench",
                        "family_name": f"Client{n}",
                        "date_of_birth": "1990-01-01",
                        "email": f"c{n}@example.org",
                        "phone": "+1 312 555 0100",
                    },
                },
                headers=coordinator,
                timeout=10,
            ).json()["id"]
            api_ms.append((time.perf_counter() - started) * 1000)
            seen_inbox = seen_mail = None
            while seen_inbox is None or seen_mail is None:
                now = time.perf_counter() - started
                if now > 30:
                    sys.exit(f"referral {n} not delivered within 30 s")
                if seen_inbox is None:
                    items = requests.get(
                        f"{notifications}/v1/inbox?site_id={site}&limit=200",
                        headers=coordinator,
                        timeout=10,
                    ).json()["items"]
                    if any(i["referral_id"] == referral for i in items):
                        seen_inbox = now
                if seen_mail is None:
                    found = requests.get(
                        f"{profile.mailpit_url}/api/v1/search",
                        params={"query": f'"{referral}"'},
                        timeout=10,
                    ).json()
                    if found.get("messages_count", found.get("total", 0)):
                        seen_mail = now
                time.sleep(0.02)
            inbox_s.append(seen_inbox)
            mail_s.append(seen_mail)
        print(f"first flow, {count} referrals one after another (test stack, 2 gunicorn workers)")
        for name, values, unit in (
            ("POST /v1/referrals", api_ms, "ms"),
            ("referral -> inbox item", inbox_s, "s"),
            ("referral -> email in mailbox", mail_s, "s"),
        ):
            print(
                f"  {name:30s} p50 {statistics.median(values):7.2f} {unit}"
                f"  p95 {percentile(values, 0.95):7.2f} {unit}  max {max(values):7.2f} {unit}"
            )
    finally:
        stack.stop_all()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
