"""The crisis page figure of ``make bench``: a client's crisis coaching request to the on-call
clinician's SMS in the sink, p50 and p99, while referrals are posted to another site.

A site of its own ("Bench crisis"): one on-call clinician (primary all day, with a phone),
``clients`` admitted clients (each crisis request is another client's: repeats of one client are
paged once at most). The load is an open loop of referrals to the bench's site; the crisis
requests go one at a time while it runs, each waiting for its SMS before the next (so each SMS
is known to be its request's). A sample is from just before the POST (wall clock) to the
sink's ``received_at`` of the new message (milliseconds; same machine, same clock).

Run alone against a test stack of its own (the rest of ``make bench`` is 20+ minutes):
``DEVSTACK_PORT_OFFSET=600 .venv/bin/python -m tests.bench.bench_crisis``
(BENCH_CRISIS: samples, 60; BENCH_CRISIS_RATE: referrals/s of the load, 100).
"""

from __future__ import annotations

import os
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote

from pymongo import MongoClient

from devstack import Profile, Stack, mint_token
from tests.bench.bench_load import Http, open_loop, percentile, referral_body
from tests.bench.bench_probe import DELIVERY_QUEUE as QUEUE

TTL = 14_400
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALL_DAY = [{"weekday": d, "start": "00:00", "end": "24:00"} for d in DAYS]
SCREENING = {
    "cssrs": [False] * 6,
    "phq9": [1, 1, 1, 1, 0, 1, 0, 0, 0],
    "gad7": [1, 1, 0, 0, 1, 0, 0],
    "ders16_total": 40,
    "bsl23_mean": 0.8,
}
COMMITMENT = {
    "orientation_sessions": 2,
    "all_modes": True,
    "four_miss_rule": True,
    "consent_to_treatment": True,
}


@dataclass
class CrisisSite:
    site_id: str
    oncall_id: str
    phone: str  # the on-call clinician's, as the sink lists it
    clients: list[str] = field(default_factory=list)


def _sink_messages(http: Http, profile: Profile, phone: str) -> list[dict]:
    answer = http.get(f"{profile.sms_url}/api/messages?to={quote(phone)}")
    return answer.json() if answer.ok else []


def prepare(profile: Profile, operator: Http, clients: int, timeout: float = 300) -> CrisisSite:
    """The crisis site, its rota, and ``clients`` clients admitted and known to coaching."""
    intake, coaching = profile.api_url("intake"), profile.api_url("coaching")
    tag = uuid.uuid4().hex[:6]
    site_id = operator.created(
        f"{intake}/v1/sites",
        {
            "name": f"Bench crisis {tag}",
            "timezone": "UTC",
            "intake_email": f"crisis-{tag}@bench.example.org",
            "clinical_lead": {"name": "Crisis lead", "email": f"lead-{tag}@bench.example.org"},
        },
    )
    operator.post(f"{intake}/v1/sites/{site_id}/programs", {"kind": "adult", "settings": {}})
    phone = f"+1415555{int(tag, 16) % 10000:04d}"
    ids = {}
    for name, extra in (("therapist", {}), ("oncall", {"phone": phone})):
        ids[name] = operator.created(
            f"{intake}/v1/sites/{site_id}/clinicians",
            {
                "subject": f"bench|{name}-{tag}",
                "display_name": name.title(),
                "roles": ["therapist"],
                "programs": ["adult"],
                "languages": ["en"],
                "email": f"{name}-{tag}@bench.example.org",
                **extra,
            },
        )
    coordinator = Http(mint_token(["coordinator"], [site_id], "bench-crisis", ttl_seconds=TTL))

    def admit(_n: int) -> str:
        body = referral_body(site_id)
        rid = coordinator.created(f"{intake}/v1/referrals", body)
        steps = (
            ("screenings", SCREENING),
            ("eligibility", {"decision": "eligible", "reason": "meets criteria"}),
            ("orientation", None),
            ("commitment", COMMITMENT),
            ("therapist", {"clinician_id": ids["therapist"]}),
            ("admission", {"availability": [{"weekday": "mon", "start": "17:00", "end": "21:00"}]}),
        )
        for path, step in steps:
            answer = coordinator.post(f"{intake}/v1/referrals/{rid}/{path}", step or {})
            if answer.status_code not in (200, 201):
                raise RuntimeError(f"{path} answered {answer.status_code}: {answer.text[:200]}")
        return rid

    with ThreadPoolExecutor(max_workers=8) as pool:
        admitted = list(pool.map(admit, range(clients)))
    deadline = time.monotonic() + timeout
    # Coaching learns the site's clinicians and clients from intake's events: the rota is
    # refused (422) until it knows the clinician.
    for path, body in (
        (f"/v1/sites/{site_id}/coaching-hours", {"hours": ALL_DAY}),
        (
            f"/v1/sites/{site_id}/rota",
            {"primary": [{**w, "clinician_id": ids["oncall"]} for w in ALL_DAY], "backup": []},
        ),
    ):
        while (answer := coordinator.put(coaching + path, body)).status_code != 200:
            if time.monotonic() > deadline:
                raise RuntimeError(f"PUT {path} answered {answer.status_code}: {answer.text}")
            time.sleep(0.5)
    site = CrisisSite(site_id, ids["oncall"], phone)
    for client_id in admitted:
        client = Http(mint_token(["client"], [site_id], client_id, ttl_seconds=TTL))
        while not client.ok(f"{coaching}/v1/clients/{client_id}/goals"):
            if time.monotonic() > deadline:
                raise RuntimeError("coaching did not learn the admitted clients in time")
            time.sleep(0.5)
        site.clients.append(client_id)
    return site


def _received_at(message: dict) -> float:
    return datetime.fromisoformat(message["received_at"].replace("Z", "+00:00")).timestamp()


def measure(
    profile: Profile, site: CrisisSite, load_site: str, rate: float, samples: int
) -> tuple[list[tuple[float, float]], list]:
    """When each crisis request was sent and its SMS arrived (Unix seconds), with ``rate``
    referrals/s posted to ``load_site`` meanwhile; and the referral POSTs' outcomes."""
    coaching, intake = profile.api_url("coaching"), profile.api_url("intake")
    sink = Http("")
    loader = Http(mint_token(["coordinator"], [load_site], "bench-load", ttl_seconds=TTL))
    outcomes: list = []
    done = threading.Event()

    def load() -> None:  # open loop, in slices of 5 s until every sample is taken
        while not done.is_set():
            outcomes.extend(
                open_loop(
                    lambda _i: loader.created(f"{intake}/v1/referrals", referral_body(load_site)),
                    rate,
                    5.0,
                    workers=64,
                )
            )

    thread = threading.Thread(target=load, name="referral-load", daemon=True)
    thread.start()
    time.sleep(5.0)  # the load runs at its rate before the first request
    times: list[tuple[float, float]] = []
    known = len(_sink_messages(sink, profile, site.phone))
    try:
        for client_id in site.clients[:samples]:
            client = Http(mint_token(["client"], [site.site_id], client_id, ttl_seconds=TTL))
            started = time.time()
            answer = client.post(f"{coaching}/v1/coaching-requests", {"kind": "crisis"})
            if answer.status_code != 201:
                raise RuntimeError(f"crisis request answered {answer.status_code}: {answer.text}")
            deadline = time.monotonic() + 30
            while len(messages := _sink_messages(sink, profile, site.phone)) <= known:
                if time.monotonic() > deadline:
                    raise RuntimeError("no SMS to the on-call clinician within 30 s")
                time.sleep(0.02)
            times.append((started, _received_at(messages[known])))
            known = len(messages)
            time.sleep(0.5)  # the next request at another moment of the load's cycle
    finally:
        done.set()
        thread.join()
    return times, outcomes


def figures(times: list[tuple[float, float]]) -> dict[str, float | None]:
    seconds = [arrived - started for started, arrived in times]
    return {
        "crisis_p50": _ms(percentile(seconds, 0.5)),
        "crisis_p99": _ms(percentile(seconds, 0.99)),
    }


def _ms(value: float | None) -> float | None:
    return None if value is None else value * 1000


def main() -> None:
    samples = int(os.environ.get("BENCH_CRISIS", "60"))
    rate = float(os.environ.get("BENCH_CRISIS_RATE", "100"))
    profile = Profile.test()
    if Stack.attach(profile).processes:
        sys.exit(f"a test stack runs in {profile.data_dir}: set DEVSTACK_PORT_OFFSET")
    stack = Stack(profile)
    stack.start_all(timeout=180, service_timeout=120)
    try:
        operator = Http(mint_token(["operator"], [], "bench-operator", ttl_seconds=TTL))
        print(f"preparing: {samples} clients admitted", flush=True)
        site = prepare(profile, operator, samples)
        load_site = prepare(profile, operator, 0).site_id
        print(f"measuring: {samples} crisis requests under {rate:g} referrals/s", flush=True)
        times, outcomes = measure(profile, site, load_site, rate, samples)
        failed = sum(1 for o in outcomes if not o.ok)
        posts = [o.seconds for o in outcomes if o.ok]
        fig = figures(times)
        with MongoClient(profile.mongodb_uri, tz_aware=True) as mongo:
            # How far the sender is behind the load: the entries of its queue due or leased.
            backlog = mongo[QUEUE[0]][QUEUE[1]].count_documents({})
            # The two legs: request -> notifications stored the SMS delivery -> it arrived.
            created = sorted(
                d["created_at"].timestamp()
                for d in mongo[QUEUE[0]]["deliveries"].find(
                    {"recipient_id": site.oncall_id, "status": "sent"}  # recipient_status
                )
            )
        if len(created) == len(times):
            for leg, values in (
                (
                    "request -> delivery stored",
                    [c - s for c, (s, _a) in zip(created, times, strict=True)],
                ),
                (
                    "delivery stored -> SMS",
                    [a - c for c, (_s, a) in zip(created, times, strict=True)],
                ),
            ):
                print(
                    f"  {leg}: p50 {_ms(percentile(values, 0.5)):.0f} ms, "
                    f"p99 {_ms(percentile(values, 0.99)):.0f} ms"
                )
        print(
            f"crisis request -> on-call SMS under {rate:g} referrals/s to another site: "
            f"p50 {fig['crisis_p50'] or 0:.0f} ms, p99 {fig['crisis_p99'] or 0:.0f} ms, "
            f"({len(times)} requests; "
            f"{failed} of {len(outcomes)} referral POSTs failed; {backlog} deliveries queued at "
            f"the end)\n  referral POSTs meanwhile: p50 {_ms(percentile(posts, 0.5)) or 0:.0f} ms, "
            f"p99 {_ms(percentile(posts, 0.99)) or 0:.0f} ms"
        )
    finally:
        stack.stop_all()


if __name__ == "__main__":
    main()
