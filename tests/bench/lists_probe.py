"""p99 of each list endpoint at an open-loop rate against a running stack (``make bench``'s list
phase alone): ``python -m tests.bench.lists_probe [--profile dev] [--site ID] [--rate 50]
[--seconds 10]``. The site defaults to the one with the most referrals."""

from __future__ import annotations

import argparse

from pymongo import MongoClient

from devstack import Profile, mint_token
from tests.bench.bench_load import Http, open_loop, percentile
from tests.bench.bench_report import LISTS


def busiest_site(profile: Profile) -> str:
    db = MongoClient(profile.mongodb_uri)["dbt_intake"]
    counts = db.tallies.find({"kind": "waitlist"}, {"site_id": 1})
    sites = [t["site_id"] for t in counts] or [s["_id"] for s in db.sites.find({}, {"_id": 1})]
    return sites[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile", default="dev")
    parser.add_argument("--site")
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    profile = Profile.named(args.profile)
    site = args.site or busiest_site(profile)
    http = Http(mint_token(["operator"], [], "bench-operator"))
    for service, path in LISTS:
        url = profile.api_url(service) + path.format(site=site)
        outcomes = open_loop(lambda _i, u=url: http.get(u).ok, args.rate, args.seconds)
        good = [o.seconds * 1000 for o in outcomes if o.ok]
        print(
            f"{service:14} {path:38} p50 {percentile(good, 0.5) or 0:8.1f} ms"
            f"  p99 {percentile(good, 0.99) or 0:8.1f} ms  failed {len(outcomes) - len(good)}"
        )


if __name__ == "__main__":
    main()
