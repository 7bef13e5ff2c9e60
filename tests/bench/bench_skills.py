"""``make bench`` (skills-group part): calendars for 200 groups x 48 weeks and the placement of
1,000 admitted clients, through skills-group's own use cases.

Two columns. "rules": the calendar and placement rules by themselves (``skills_group.domain``,
no store; target: each under 1 s). "stored": skills-group's use cases on the test stack's
FerretDB (a database of its own, dropped after): every session written, every placement under
its group's lock, with its events; per group and per placement. Figures only; nothing is
asserted. ``python -m tests.bench.bench_skills``.
"""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, date, datetime, timedelta

from pymongo import MongoClient

from dbt_shared.clock import SystemClock
from devstack import Profile, Stack
from devstack.environment import service_env
from skills_group import bootstrap, services
from skills_group.bootstrap import Components
from tests.bench.bench_load import percentile

SITES, GROUPS_PER_SITE, CLIENTS = 20, 10, 1000
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
SETTINGS = {"curriculum": "M2 DT6 M2 ER6 M2 IE6", "group_capacity": 8}


def clinic(c: Components) -> list[str]:
    """20 sites with an adult program and 20 facilitators each (the read models)."""
    sites = []
    for s in range(SITES):
        site = f"site-{s:02d}"
        c.repositories.sites.insert({"_id": site, "timezone": "America/Chicago"})
        c.repositories.programs.insert(
            {"_id": f"{site}:adult", "site_id": site, "kind": "adult", "settings": SETTINGS}
        )
        for f in range(2 * GROUPS_PER_SITE):
            services.on_clinician_registered(
                {"clinician_id": f"{site}-f{f}", "site_id": site, "subject": f"{site}-f{f}"}, c
            )
        sites.append(site)
    return sites


def make_groups(c: Components, sites: list[str], principal) -> list[float]:
    """200 groups of 2 cycles (48 weekly sessions), 10 per site; answers seconds per group."""
    took = []
    starts = date.today() - timedelta(weeks=4)
    for site in sites:
        for g in range(GROUPS_PER_SITE):
            body = {
                "site_id": site,
                "program_id": f"{site}:adult",
                "name": f"Group {g}",
                "weekday": WEEKDAYS[g % 5],
                "start_time": "18:00" if g < 5 else "10:00",
                "duration_minutes": 120,
                "room": f"Room {g}",
                "facilitator_ids": [f"{site}-f{2 * g}", f"{site}-f{2 * g + 1}"],
                "starts_on": starts,
                "cycles": 2,
                "capacity": None,
            }
            began = time.perf_counter()
            services.create_group(body, c, principal)
            took.append(time.perf_counter() - began)
    return took


def admit_all(c: Components, sites: list[str]) -> list[float]:
    took = []
    for n in range(CLIENTS):
        site = sites[n % len(sites)]
        day = WEEKDAYS[(n // len(sites)) % 5]
        data = {
            "client_id": f"client-{n:05d}",
            "site_id": site,
            "program_id": f"{site}:adult",
            "therapist_id": "t",
            "availability": [{"weekday": day, "start": "17:00", "end": "21:00"}],
            "admitted_at": datetime.now(UTC),
        }
        began = time.perf_counter()
        services.on_client_admitted(data, c)
        took.append(time.perf_counter() - began)
    return took


def run(c: Components) -> dict[str, float]:
    from dbt_shared.auth import Principal

    operator = Principal("bench", frozenset({"operator"}), frozenset())
    sites = clinic(c)
    groups = make_groups(c, sites, operator)
    placements = admit_all(c, sites)
    placed = sum(1 for _ in c.repositories.enrollments.find({"status": "active"}))
    saves = take_attendance(c)
    return {
        "groups_total": sum(groups),
        "group_p99": percentile(groups, 0.99) or 0,
        "placements_total": sum(placements),
        "placement_p50": percentile(placements, 0.5) or 0,
        "placement_p99": percentile(placements, 0.99) or 0,
        "placed": placed,
        "attendance_p50": percentile(saves, 0.5) or 0,
        "attendance_p95": percentile(saves, 0.95) or 0,
    }


def take_attendance(c: Components, groups: int = 40) -> list[float]:
    """An attendance sheet saved as the console saves it, one member per call (the record,
    the member's run recounted, the audit), at the first session with members of ``groups``
    groups; answers seconds per save."""
    from dataclasses import replace

    from dbt_shared.auth import Principal
    from dbt_shared.clock import FixedClock

    operator = Principal("bench", frozenset({"operator"}), frozenset())
    statuses = ({"status": "present"}, {"status": "absent"}, {"status": "late", "minutes_late": 5})
    took: list[float] = []
    for group in c.repositories.groups.find({}, limit=groups):  # a bench's own database
        members = c.repositories.members(group["_id"])
        if not members:
            continue
        first = min(m["first_index"] for m in members)
        session = next(s for s in c.repositories.calendar(group["_id"]) if s["index"] == first)
        at = replace(
            c, clock=FixedClock(session["starts_at"].replace(tzinfo=UTC) + timedelta(minutes=10))
        )
        for n, member in enumerate(m for m in members if m["first_index"] == first):
            record = {"client_id": member["client_id"], **statuses[n % 3]}
            began = time.perf_counter()
            services.record_attendance(session["_id"], {"records": [record]}, at, operator)
            took.append(time.perf_counter() - began)
    return took


def rules_only() -> dict[str, float]:
    """The calendar and placement rules by themselves (``skills_group.domain``), no store."""
    from skills_group.domain import calendar, placement

    began = time.perf_counter()
    calendars = []
    for g in range(SITES * GROUPS_PER_SITE):
        slots = calendar.plan(
            starts_on=date.today() - timedelta(weeks=4),
            weekday=WEEKDAYS[g % 5],
            curriculum=SETTINGS["curriculum"],
            cycles=2,
            closures={date.today() + timedelta(weeks=10)},
        )
        calendars.append(
            [(s, calendar.starts_at(s.date, "18:00", "America/Chicago")) for s in slots]
        )
    groups_total = time.perf_counter() - began
    seats: list[list[placement.Seat]] = [[] for _ in calendars]
    now = datetime.now(UTC)
    took, placed = [], 0
    for n in range(CLIENTS):
        began = time.perf_counter()
        window = [{"weekday": WEEKDAYS[(n // SITES) % 5], "start": "17:00", "end": "21:00"}]
        site = n % SITES
        candidates = []
        for g in range(site * GROUPS_PER_SITE, (site + 1) * GROUPS_PER_SITE):
            if not placement.fits(window, WEEKDAYS[g % 5], "18:00", 120):
                continue
            for slot, at in calendars[g]:
                if not (slot.week.is_entry_point and now < at <= now + timedelta(weeks=12)):
                    continue
                if placement.free_from(seats[g], 8, slot.index, slot.index + 48):
                    taken = placement.occupancy(seats[g], slot.index)
                    candidates.append(placement.Candidate(str(g), "s", slot.index, at, taken))
                    break
        chosen = placement.choose(candidates)
        if chosen is not None:
            seats[int(chosen.group_id)].append(placement.Seat(chosen.index, chosen.index + 48))
            placed += 1
        took.append(time.perf_counter() - began)
    return {
        "groups_total": groups_total,
        "group_p99": groups_total / len(calendars),
        "placements_total": sum(took),
        "placement_p50": percentile(took, 0.5) or 0,
        "placement_p99": percentile(took, 0.99) or 0,
        "placed": placed,
        "attendance_p50": 0.0,  # a store's work: the stored column only
        "attendance_p95": 0.0,
    }


def main() -> None:
    rules = rules_only()
    profile = Profile.test()
    stack = Stack(profile)
    started_here = not Stack.attach(profile).processes
    if started_here:
        stack.start_infrastructure(timeout=180)
    client = MongoClient(profile.mongodb_uri)
    name = f"bench_skills_{uuid.uuid4().hex[:8]}"
    c = None
    try:
        from skills_group import repository

        repository.ensure_indexes(client[name])
        # the cipher of attendance reasons reads its key as the service does
        os.environ.setdefault(
            "FIELD_ENCRYPTION_KEY", service_env(profile, "skills-group")["FIELD_ENCRYPTION_KEY"]
        )
        c = bootstrap.bootstrap(client[name], SystemClock())
        stored = run(c)
    finally:
        if c is not None:  # the released locks, while their database and client exist
            c.storage.deferred.sweep()
        client.drop_database(name)
        client.close()
        if started_here:
            stack.stop_all()
    print()
    print(f"skills bench: {SITES * GROUPS_PER_SITE} groups x 48 weeks, {CLIENTS} admitted clients")
    print(f"{'figure':48} {'rules':>12} {'stored':>12}  target")
    rows = [
        ("calendars of 200 groups x 48 weeks, total", "groups_total", "s", "<= 1 s (rules)"),
        ("  one group's calendar (rules: mean; stored: p99)", "group_p99", "ms", ""),
        ("placement of 1,000 admitted clients, total", "placements_total", "s", "<= 1 s (rules)"),
        ("  one placement, p50", "placement_p50", "ms", ""),
        ("  one placement, p99", "placement_p99", "ms", ""),
        ("attendance saved one member at a time, p50", "attendance_p50", "ms", ""),
        ("  p95 (the console's sheet adds one HTTP call)", "attendance_p95", "ms", "<= 150 ms"),
    ]
    for label, key, unit, target in rows:
        scale = 1000 if unit == "ms" else 1
        cells = [f"{column[key] * scale:,.1f} {unit}" for column in (rules, stored)]
        print(f"{label:48} {cells[0]:>12} {cells[1]:>12}  {target}")
    placed = "clients placed (the rest wait for a seat)"
    print(f"{placed:48} {rules['placed']:>12,} {stored['placed']:>12,}")


if __name__ == "__main__":
    main()
