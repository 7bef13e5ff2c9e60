"""Intake's storage: sites, programs, clinicians and referrals behind one small interface.

``Repositories`` is built on four ``DocumentStore``s (``storage.documents``): MongoDB in the
processes (``mongo``), in memory in unit tests (``in_memory``). Every query names the index that
serves it on MongoDB 7; hot paths use equality on indexed fields plus sort plus limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pymongo.database import Database

from dbt_shared import audit
from dbt_shared.audit import AuditLog, InMemoryAuditLog, MongoAuditLog
from dbt_shared.clock import Clock
from dbt_shared.events import outbox
from dbt_shared.remembered import Remembered
from dbt_shared.storage import listing, tallies
from dbt_shared.storage.context import Storage
from dbt_shared.storage.documents import DocumentStore
from dbt_shared.storage.memory_documents import InMemoryDocumentStore
from dbt_shared.storage.tallies import InMemoryTallies, Tallies
from intake.domain import duplicates, pipeline, waitlist
from intake.domain.referral import NAME_FIELDS, Referral

SITES = "sites"
PROGRAMS = "programs"
CLINICIANS = "clinicians"
REFERRALS = "referrals"
STAFF = "staff"  # the staff directory's members, by identity-provider subject (intake.api.staff)
# The list rows of referrals: what a list shows, a tenth of a referral's size, so that a page
# (and a count) decodes little on any server. Written after each write of the referral.
REFERRAL_ROWS = "referral_rows"

# Collections whose documents carry pending events for the outbox relay.
OUTBOX_COLLECTIONS = [SITES, PROGRAMS, CLINICIANS, REFERRALS, STAFF]

HIDDEN = {outbox.OUTBOX_FIELD: 0}
#: How old the organisation overview's waitlist figures may be while it is in use (s).
FIGURES_REFRESH_S = 10.0


def site_list(site_id: str) -> str:
    """The sequence key of a site's referral list (bucket field ``site_bucket``)."""
    return f"referrals:site:{site_id}"


def program_list(site_id: str, program: str) -> str:
    """The sequence key of a site's referrals of one program (bucket field
    ``program_bucket``): the list ``?program=`` reads."""
    return f"referrals:site:{site_id}:program:{program}"


def status_list(site_id: str, program: str, status: str) -> str:
    """The sequence key of a site's referrals of one program in one status (bucket field
    ``status_bucket``, taken again each time the status changes): the list ``?status=``
    reads. Referrals leave a status from its front: its head (``status_head``) passes them."""
    return f"referrals:site:{site_id}:program:{program}:status:{status}"


def status_head(site_id: str, program: str, status: str) -> str:
    return status_list(site_id, program, status) + ":head"


def waitlist_head(site_id: str) -> str:
    """Where a site's waitlist starts: referrals leave it from the front."""
    return f"waitlist:site:{site_id}"


def waiting_tally(site_id: str, program: str) -> str:
    """The tally of a site's program's waitlist: one count per waiting stage, and one per moment
    of receipt of those waiting (``intake.domain.waitlist``: the longest wait, kept)."""
    return f"waitlist:{site_id}:{program}"


def caseload_tally(clinician_id: str) -> str:
    """The tally of a therapist's caseload: ``n`` clients carried now."""
    return f"caseload:{clinician_id}"


def tally_changes(before: dict[str, Any] | None, after: dict[str, Any]):
    """The tally adjustments a row's change makes: (key, deltas, tags) for each tally."""
    changes: list[tuple[str, dict[str, int], dict[str, Any]]] = []
    for row, sign in ((before, -1), (after, 1)):
        if row is None:
            continue
        if row.get("waiting"):
            key = waiting_tally(row["site_id"], row["program"])
            tags = {"site_id": row["site_id"], "program": row["program"], "kind": "waitlist"}
            deltas = {row["status"]: sign}
            if row.get("received_at") is not None:  # when it was received: the longest wait
                deltas[waitlist.received_field(row["received_at"])] = sign
            changes.append((key, deltas, tags))
        if row.get("on_caseload"):
            key = caseload_tally(row["therapist_id"])
            tags = {"site_id": row["site_id"], "kind": "caseload"}
            changes.append((key, {"n": sign}, tags))
    merged: dict[str, tuple[dict[str, int], dict[str, Any]]] = {}
    for key, deltas, tags in changes:
        into, _ = merged.setdefault(key, ({}, tags))
        for name, n in deltas.items():
            into[name] = into.get(name, 0) + n
    return [(k, {f: n for f, n in d.items() if n}, t) for k, (d, t) in merged.items()]


def lanes_of(state: dict[str, Any]) -> dict[str, str]:
    """A referral's places in its site's list and its program's (both fixed at receipt)."""
    return {
        "site_bucket": site_list(state["site_id"]),
        "program_bucket": program_list(state["site_id"], state["program"]),
    }


def row_of(state: dict[str, Any]) -> dict[str, Any]:
    """A referral's list row: nothing but what lists show and filter on; of the client's
    details only the name, sealed as in the referral (``client_name``: a list page of names is
    one read of its rows, not a read of each referral; ``services.lookups.row_names``)."""
    referral = Referral(state)
    therapist_id = referral.therapist_id
    client = state.get("client") or {}
    return {
        "client_name": {name: client.get(name) for name in NAME_FIELDS},
        "_id": referral.id,
        "site_id": referral.site_id,
        "site_bucket": state["site_bucket"],
        "program_bucket": state.get("program_bucket"),
        "status_bucket": state.get("status_bucket"),
        "program": referral.program,
        "status": referral.status,
        "source": state.get("source"),
        "received_at": state.get("received_at"),
        "therapist": {"clinician_id": therapist_id} if therapist_id else None,
        "therapist_id": therapist_id,
        "on_caseload": therapist_id is not None and referral.status in pipeline.CASELOAD_STATUSES,
        "waiting": referral.status in pipeline.WAITING_STAGES,
    }


@dataclass
class Repositories:
    sites: DocumentStore
    programs: DocumentStore
    clinicians: DocumentStore
    referrals: DocumentStore
    rows: listing.MongoRows | listing.InMemoryRows
    sequences: listing.Sequences
    tallies: Tallies
    audit: AuditLog
    staff: DocumentStore
    clock: Clock
    known_sites: set[str] = field(default_factory=set)
    # the sites whose referrals changed since the last hourly recount (rows index: changed)
    changed_sites: tallies.ChangedSites = field(init=False)
    figures_ttl_s: float = 0.0  # how long the organisation's waitlist tallies are kept
    _organisation_seen: Remembered = field(init=False)

    def __post_init__(self) -> None:
        self.changed_sites = tallies.ChangedSites(self.rows, self.clock)
        self._organisation_seen = Remembered(self.figures_ttl_s, refresh_after_s=FIGURES_REFRESH_S)

    def organisation_waitlists(self) -> list[dict[str, Any]]:
        """Every site's waitlist tallies (index ``kind_day``, its ``kind`` prefix), as the
        organisation overview reads them: kept for ``figures_ttl_s`` and, while in use, read
        again in the background every ``FIGURES_REFRESH_S``. They hold a count per moment of
        receipt of each referral waiting (``domain.waitlist``): with 20,000 waiting, 540 KB
        and 175 ms of FerretDB per read, for figures an overview shows in whole days; a view
        of it in steady use is answered at once, with figures at most that old."""
        return self._organisation_seen.get(
            "waitlist", lambda: self.tallies.find({"kind": "waitlist"})
        )

    # -- referrals -----------------------------------------------------------------------------
    def referral(self, referral_id: str) -> Referral | None:
        state = self.referrals.get(referral_id)  # index: _id
        return Referral(state) if state is not None else None

    def add_referral(self, referral: Referral, events: list) -> tuple[Referral, bool]:
        listing.place(referral.state, self.sequences, lanes_of(referral.state))
        self._place_in_status_list(referral.state)
        stored, created = self.referrals.insert(referral.state, events)
        self.put_row(stored, new=created)
        return Referral(stored), created

    def open_referral_ids(
        self, site_id: str, person_keys: list[str], *, besides: str | None = None
    ) -> list[str]:
        """The ids of the site's open referrals of the person with ``person_keys`` (one equality
        read per key in use, one or two), ``besides`` left out."""
        found: set[str] = set()
        for key in person_keys:
            # index: site_person (site_id, person_key): a person's few referrals at a site
            for referral in self.referrals.find(
                {"site_id": site_id, "person_key": key}, {"_id": 1, "status": 1}
            ):
                if duplicates.is_open(referral["status"]) and referral["_id"] != besides:
                    found.add(referral["_id"])
        return sorted(found)

    def save_referral(self, referral: Referral, events: list) -> Referral:
        self._place_in_status_list(referral.state)
        stored = self.referrals.save(referral.state, events)
        self.put_row(stored)
        return Referral(stored)

    def _place_in_status_list(self, state: dict[str, Any]) -> None:
        """A referral whose status changed takes the next place in its new status's list (a
        write that fails after leaves a gap there, nothing else)."""
        if state.get("listed_status") != state["status"]:
            key = status_list(state["site_id"], state["program"], state["status"])
            state["status_bucket"] = listing.bucket_of(self.sequences.take(key))
            state["listed_status"] = state["status"]

    def put_row(self, state: dict[str, Any], *, new: bool = False) -> None:
        # the hour of the change, with the change: the hourly recount looks at changed sites only
        row = {**row_of(state), **tallies.changed_stamp(self.clock.now())}
        before = (self.rows.put_new if new else self.rows.put)(row)  # index: _id
        for key, deltas, tags in tally_changes(before, row):
            self.tallies.adjust(key, deltas, **tags)  # index: _id

    def caseload(self, clinician_id: str) -> int:
        return int(self.tallies.get(caseload_tally(clinician_id)).get("n", 0))  # index: key

    def caseloads(self, site_id: str) -> dict[str, int]:
        """The caseload of each of the site's therapists who carries one, in one read (tallies
        index site_kind: equality on the site and the kind), not one read per clinician."""
        found = self.tallies.find({"site_id": site_id, "kind": "caseload"})
        prefix = caseload_tally("")
        return {t["key"][len(prefix) :]: int(t.get("n", 0)) for t in found}

    def waiting_counts(self, site_id: str, program: str | None = None) -> dict[str, int]:
        """Per waiting stage, how many wait (one or a few ``_id`` reads, not a count)."""
        if program:
            found = [self.tallies.get(waiting_tally(site_id, program))]
        else:
            found = self.tallies.find({"site_id": site_id, "kind": "waitlist"})
        return {s: sum(int(t.get(s, 0)) for t in found) for s in pipeline.WAITING_STAGES}

    def reconcile_changed_sites(self) -> set[str]:
        """Recount the tallies of the sites whose referrals changed since the recount before
        (``ChangedSites``, rows index: changed); answers the sites."""
        return self.changed_sites.recount(self.reconcile_tallies)

    def reconcile_tallies(self, site_id: str) -> None:
        """Recount a site's waitlist and its therapists' caseloads from the rows (the slow
        timer): a tally a killed process left off by one is exact again."""
        for program in self.programs_of(site_id):
            self.reconcile_waitlist(site_id, program["kind"])
        for clinician in self.clinicians_of(site_id):
            cid = clinician["_id"]

            def count_caseload(cid: str = cid) -> dict[str, int]:
                # rows index: caseload (therapist_id, on_caseload)
                return {"n": self.rows.count({"therapist_id": cid, "on_caseload": True})}

            self.tallies.reconcile(
                caseload_tally(cid), count_caseload, site_id=site_id, kind="caseload"
            )

    def reconcile_waitlist(self, site_id: str, program: str) -> None:
        """Recount a site's program's waitlist tally: per waiting stage, and per moment of
        receipt of those waiting (hourly)."""

        def count_waiting() -> dict[str, int]:
            counts: dict[str, int] = {}
            for stage in pipeline.WAITING_STAGES:
                # rows index: site_status (site_id, status): what waits now, not history
                query = {"site_id": site_id, "status": stage, "program": program}
                rows = self.rows.find(query, {"received_at": 1})
                counts[stage] = len(rows)
                for row in rows:
                    if row.get("received_at") is not None:
                        name = waitlist.received_field(row["received_at"])
                        counts[name] = counts.get(name, 0) + 1
            return counts

        self.tallies.reconcile(
            waiting_tally(site_id, program),
            count_waiting,
            site_id=site_id,
            program=program,
            kind="waitlist",
        )

    # -- programs and clinicians ---------------------------------------------------------------
    def program(self, site_id: str, kind: str) -> dict[str, Any] | None:
        # index: site_kind (site_id, kind), unique
        found = self.programs.find({"site_id": site_id, "kind": kind}, HIDDEN, limit=1)
        return found[0] if found else None

    def programs_of(self, site_id: str) -> list[dict[str, Any]]:
        # index: site_kind; a site has at most one program per kind
        return self.programs.find({"site_id": site_id}, HIDDEN, sort=[("_id", 1)])

    def clinicians_of(self, site_id: str) -> list[dict[str, Any]]:
        # index: site_subject (site_id, subject); a site's staff, tens of documents
        return self.clinicians.find({"site_id": site_id}, HIDDEN, sort=[("_id", 1)])

    def clinician_ids_of_subject(self, subject: str, sites: frozenset[str]) -> list[str]:
        # index: site_subject, one equality lookup per site of the caller
        return [
            c["_id"]
            for site_id in sorted(sites)
            for c in self.clinicians.find({"site_id": site_id, "subject": subject}, {"_id": 1})
        ]

    def subject_registered(self, site_id: str, subject: str) -> bool:
        return self.clinicians.count({"site_id": site_id, "subject": subject}, limit=1) > 0

    def site(self, site_id: str) -> dict[str, Any] | None:
        site = self.sites.get(site_id)  # index: _id
        return outbox.public(site) if site else None

    def site_exists(self, site_id: str) -> bool:
        """Whether the site is registered; sites are never removed, so a yes is remembered
        (a referral's POST costs no site read)."""
        if site_id not in self.known_sites and self.site(site_id) is not None:
            self.known_sites.add(site_id)
        return site_id in self.known_sites

    def site_ids(self) -> list[str]:
        return [s["_id"] for s in self.sites.find({}, {"_id": 1}, sort=[("_id", 1)])]


def ensure_indexes(db: Database) -> None:
    outbox.ensure_indexes(db)
    rows = db[REFERRAL_ROWS]
    rows.create_index([("site_id", 1), ("site_bucket", 1), ("_id", 1)], name="site_list")
    rows.create_index([("site_id", 1), ("status", 1)], name="site_status")
    rows.create_index(
        [("site_id", 1), ("program", 1), ("program_bucket", 1), ("_id", 1)], name="program_list"
    )
    rows.create_index(
        [("site_id", 1), ("program", 1), ("status", 1), ("status_bucket", 1), ("_id", 1)],
        name="status_list",
    )
    rows.create_index([("therapist_id", 1), ("_id", 1)], name="therapist_list")
    rows.create_index([("therapist_id", 1), ("on_caseload", 1)], name="caseload")
    # the rows changed in an hour, by site (the hourly recount: what changed, not the history)
    rows.create_index([(tallies.CHANGED_FIELD, 1), ("site_id", 1)], name="changed")
    tallies.ensure_indexes(db)
    # a person's referrals at a site, by the keyed hash of their names and date of birth
    db[REFERRALS].create_index([("site_id", 1), ("person_key", 1)], name="site_person")
    db[PROGRAMS].create_index([("site_id", 1), ("kind", 1)], name="site_kind", unique=True)
    db[CLINICIANS].create_index([("site_id", 1), ("subject", 1)], name="site_subject", unique=True)
    audit.ensure_indexes(db)


def mongo(storage: Storage, clock: Clock) -> Repositories:
    return Repositories(
        sites=storage.documents(SITES, "site"),
        programs=storage.documents(PROGRAMS, "program"),
        clinicians=storage.documents(CLINICIANS, "clinician"),
        referrals=storage.documents(REFERRALS, "referral"),
        rows=storage.rows(REFERRAL_ROWS),
        # a busy site's numbers in blocks: the waitlist's head waits for a second look
        sequences=storage.sequences(),
        tallies=storage.tallies(),
        audit=MongoAuditLog(storage, clock),
        staff=storage.documents(STAFF, "staff member"),
        clock=clock,
        figures_ttl_s=60.0,
    )


def in_memory(clock: Clock) -> Repositories:
    return Repositories(
        sites=InMemoryDocumentStore("site"),
        programs=InMemoryDocumentStore("program", unique=[("site_id", "kind")]),
        clinicians=InMemoryDocumentStore("clinician", unique=[("site_id", "subject")]),
        referrals=InMemoryDocumentStore("referral"),
        rows=listing.InMemoryRows(),
        sequences=listing.InMemorySequences(),
        tallies=InMemoryTallies(),
        audit=InMemoryAuditLog(clock),
        staff=InMemoryDocumentStore("staff member"),
        clock=clock,
    )
