"""``make seed``: a clinic-year in the running dev stack, through the services' own code.

20 sites, each with an adult program and ten therapists, and 20,000 referrals spread over a year
and over every pipeline stage, recorded by intake's use cases themselves (field encryption,
events with their outbox intents, audit records: all real; no raw inserts). The running workers
do the rest as they would for a clinic: intake's events reach notifications, which makes the
inbox items and the deliveries (and sends the emails to Mailpit).

Re-runnable: sites and referrals have ids derived from their number, so a second run finds
them and adds nothing (``--tag`` seeds another clinic-year beside the first). Prints what it
made and how long it took. ``python tests/bench/seed.py [--profile dev|test] [--referrals N]``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from devstack import Profile
from devstack.environment import service_env

STAGES = (
    "received",
    "screening",
    "eligible",
    "not_eligible",
    "needs_review",
    "orientation",
    "committed",
    "admitted",
    "admitted",
    "withdrawn",
)
ZONES = ("America/Chicago", "America/New_York", "America/Los_Angeles", "Europe/Berlin", "UTC")
NAMESPACE = uuid.UUID("0b6a4f1e-52c4-4c0e-9f43-5e8f2a1d7c11")


class MovableClock:
    """The moment each seeded referral happens: spread over the past year."""

    def __init__(self) -> None:
        self.at = datetime.now(UTC)

    def now(self) -> datetime:
        return self.at


@dataclass(frozen=True)
class Task:
    """A slice of one site's referrals: numbers ``start`` to ``start + count`` of ``per_site``."""

    profile: str
    tag: str
    site_number: int
    per_site: int
    start: int = 0
    count: int = 0


CHUNK = 100  # referrals per task: the processes stay busy to the end, whatever the sites


def _id(*parts: object) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(str(p) for p in parts)))


_PROCESS: dict = {}  # what one seeding process builds once: the intake wiring on its clock


def _wiring(profile_name: str):
    """Intake's components on a movable clock, built once per process (indexes checked, the
    hand-off's producer connected) and reused by every task the process takes."""
    if "c" in _PROCESS:
        return _PROCESS["c"], _PROCESS["clock"]
    profile = Profile.named(profile_name)
    os.environ.update(service_env(profile, "intake"))
    os.environ["LOG_LEVEL"] = "WARNING"

    from dbt_shared.events.publisher import EventPublisher
    from dbt_shared.storage.mongo import Mongo
    from intake import bootstrap, events, repository

    clock = MovableClock()
    db = Mongo(profile.mongodb_uri).database("dbt_intake")
    repository.ensure_indexes(db)
    c = bootstrap.bootstrap(db, clock)
    c.storage.hand_off.connect(  # no one waits for a seeded event: a quarter second per send
        lambda: EventPublisher(profile.kafka_bootstrap, "intake", events.CATALOG), gather_s=0.25
    )
    _PROCESS.update(c=c, clock=clock)
    return c, clock


def _seed_site(task: Task) -> dict[str, int]:
    """One site, its program and its ten therapists (each task of the site's referrals comes
    after all sites are made)."""
    from dbt_shared.auth import Principal
    from intake.services import organisation

    c, _clock = _wiring(task.profile)
    operator = Principal("seed-operator", frozenset({"operator"}), frozenset())
    made = {"sites": 0, "clinicians": 0}
    site_id = _id(task.tag, "site", task.site_number)
    if c.repositories.site(site_id) is None:
        organisation.register_site(
            {
                "name": f"Seed clinic {task.tag} {task.site_number:02d}",
                "timezone": ZONES[task.site_number % len(ZONES)],
                "intake_email": f"intake-{task.site_number}@seed.example.org",
                "clinical_lead": {"name": "Seed lead", "email": "lead@seed.example.org"},
            },
            c,
            site_id,
        )
        made["sites"] += 1
        organisation.create_program(site_id, {"kind": "adult", "settings": {}}, c, operator)
        for n in range(10):
            organisation.register_clinician(
                site_id,
                {
                    "subject": f"seed|{task.tag}|{task.site_number}|{n}",
                    "display_name": f"Therapist {n}",
                    "roles": ["therapist", "facilitator"],
                    "programs": ["adult"],
                    "languages": ["en", "es"] if n % 2 else ["en"],
                    "caseload_limit": 150,
                },
                c,
                operator,
                _id(task.tag, "clinician", task.site_number, n),
            )
            made["clinicians"] += 1
    _flush()
    return made


def _flush() -> None:
    """What a task's process writes a moment later (events, tallies, released locks) is
    written before the task reports back (a pool's process may be ended at any time after)."""
    _PROCESS["c"].storage.flush()


def _seed_referrals(task: Task) -> dict[str, int]:
    """One slice of a site's referrals, each taken to its stage by intake's use cases."""
    from dbt_shared.auth import Principal
    from dbt_shared.errors import DomainError
    from intake.services import referrals

    c, clock = _wiring(task.profile)
    rng = random.Random(f"{task.tag}/{task.site_number}/{task.start}")
    made = {"referrals": 0, "steps": 0, "skipped": 0}
    site_id = _id(task.tag, "site", task.site_number)
    coordinator = Principal("seed-coordinator", frozenset({"coordinator"}), frozenset({site_id}))
    year_ago = datetime.now(UTC) - timedelta(days=365)
    for n in range(task.start, task.start + task.count):
        referral_id = _id(task.tag, "referral", task.site_number, n)
        clock.at = year_ago + timedelta(days=365 * n / task.per_site, minutes=rng.randint(0, 600))
        body = {
            "site_id": site_id,
            "program": "adult",
            "source": rng.choice(("GP", "self", "hospital", "school")),
            "consent_to_contact": True,
            "client": {
                "given_name": f"Client{n}",
                "family_name": f"Seed{task.site_number}",
                "date_of_birth": date(1960 + n % 45, 1 + n % 12, 1 + n % 28),
                "email": f"client{n}.{task.site_number}@seed.example.org",
                "phone": "+1 312 555 0100",
                "preferred_channel": "email",
                "language": "es" if n % 5 == 0 else "en",
            },
        }
        _shown, created = referrals.receive(body, c, coordinator, referral_id)
        if not created:
            made["skipped"] += 1
            continue
        made["referrals"] += 1
        try:
            made["steps"] += _advance(referrals, c, coordinator, referral_id, STAGES[n % 10], n)
        except DomainError:
            made["skipped"] += 1
    _flush()
    return made


def _advance(referrals, c, who, referral_id: str, stage: str, n: int) -> int:
    """Take a received referral as far as ``stage``; answers the number of steps taken."""
    if stage == "received":
        return 0
    steps = 1
    high_risk = n % 97 == 0  # now and then a screening that alerts the clinical lead
    referrals.record_screening(
        referral_id,
        {
            "cssrs": [high_risk, high_risk, False, high_risk, False, False],
            "phq9": [1, 2, 1, 1, 0, 1, 2, 0, 0],
            "gad7": [1, 1, 2, 0, 1, 0, 1],
            "ders16_total": 40 + n % 30,
            "bsl23_mean": 1.5,
        },
        c,
        who,
        _id("screening", referral_id),
    )
    if stage == "screening":
        return steps
    decision = {"not_eligible": "not_eligible", "needs_review": "needs_review"}.get(
        stage, "eligible"
    )
    referrals.decide_eligibility(
        referral_id, {"decision": decision, "reason": "Seeded decision."}, c, who
    )
    steps += 1
    if stage in ("eligible", "not_eligible", "needs_review"):
        return steps
    if stage == "withdrawn":
        referrals.withdraw(referral_id, {"reason": "client_declined", "note": None}, c, who)
        return steps + 1
    referrals.start_orientation(referral_id, c, who)
    referrals.assign_therapist(
        referral_id,
        {"language": None, "clinician_id": None, "preferred_clinician_id": None},
        c,
        who,
    )
    steps += 2
    if stage == "orientation":
        return steps
    referrals.record_commitment(
        referral_id,
        {
            "orientation_sessions": 2,
            "all_modes": True,
            "four_miss_rule": True,
            "consent_to_treatment": True,
        },
        c,
        who,
    )
    steps += 1
    if stage == "committed":
        return steps
    referrals.admit(
        referral_id,
        {"availability": [{"weekday": "tue", "start": "17:00", "end": "21:00"}]},
        c,
        who,
    )
    return steps + 1


def seed(profile: str, sites: int, referrals: int, tag: str, processes: int) -> dict[str, int]:
    """The sites first, then their referrals in slices of ``CHUNK``, on ``processes``."""
    per_site = referrals // sites
    site_tasks = [Task(profile, tag, number, per_site) for number in range(sites)]
    slices = [
        Task(profile, tag, number, per_site, start, min(CHUNK, per_site - start))
        for start in range(0, per_site, CHUNK)
        for number in range(sites)
    ]
    totals: dict[str, int] = {}
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        for made in [
            *pool.imap_unordered(_seed_site, site_tasks),
            *pool.imap_unordered(_seed_referrals, slices),
        ]:
            for key, value in made.items():
                totals[key] = totals.get(key, 0) + value
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="dev")
    parser.add_argument("--sites", type=int, default=20)
    parser.add_argument("--referrals", type=int, default=20_000)
    parser.add_argument("--tag", default="year-1", help="another tag seeds another year")
    parser.add_argument("--processes", type=int, default=5)
    args = parser.parse_args()
    started = time.monotonic()
    totals = seed(args.profile, args.sites, args.referrals, args.tag, args.processes)
    took = time.monotonic() - started
    print(
        f"seeded {args.profile} stack ({args.tag}): {totals.get('sites', 0)} sites, "
        f"{totals.get('clinicians', 0)} clinicians, {totals.get('referrals', 0)} referrals "
        f"({totals.get('steps', 0)} pipeline steps; {totals.get('skipped', 0)} already there) "
        f"in {took:.0f} s"
    )
    print("inbox items, deliveries and emails follow from the workers within moments")


if __name__ == "__main__":
    main()
