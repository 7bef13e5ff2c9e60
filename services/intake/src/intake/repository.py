"""Intake's storage: sites, programs, clinicians and referrals behind one small interface.

``Repositories`` is built on four ``DocumentStore``s (``dbt_shared.documents``): MongoDB in the
processes (``mongo``), in memory in unit tests (``in_memory``). Every query names the index that
serves it on MongoDB 7; hot paths use equality on indexed fields plus sort plus limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pymongo.database import Database

from dbt_shared import audit
from dbt_shared.audit import AuditLog, InMemoryAuditLog, MongoAuditLog
from dbt_shared.clock import Clock
from dbt_shared.documents import DocumentStore, InMemoryDocumentStore, MongoDocumentStore
from dbt_shared.events import outbox
from intake.domain.referral import Referral

SITES = "sites"
PROGRAMS = "programs"
CLINICIANS = "clinicians"
REFERRALS = "referrals"

# Collections whose documents carry pending events for the outbox relay.
OUTBOX_COLLECTIONS = [SITES, PROGRAMS, CLINICIANS, REFERRALS]

HIDDEN = {outbox.OUTBOX_FIELD: 0, outbox.RECORDED_AT_FIELD: 0}
LIST_PROJECTION = {"client": 0, "screenings": 0, **HIDDEN}


@dataclass
class Repositories:
    sites: DocumentStore
    programs: DocumentStore
    clinicians: DocumentStore
    referrals: DocumentStore
    audit: AuditLog

    # -- referrals -----------------------------------------------------------------------------
    def referral(self, referral_id: str) -> Referral | None:
        state = self.referrals.get(referral_id)  # index: _id
        return Referral(state) if state is not None else None

    def add_referral(self, referral: Referral, events: list) -> tuple[Referral, bool]:
        stored, created = self.referrals.insert(referral.state, events)
        return Referral(stored), created

    def save_referral(self, referral: Referral, events: list) -> Referral:
        return Referral(self.referrals.save(referral.state, events))

    def caseload(self, clinician_id: str) -> int:
        # index: caseload (therapist_id, on_caseload): the clients a therapist carries now
        return self.referrals.count({"therapist_id": clinician_id, "on_caseload": True})

    def waiting_count(self, site_id: str, status: str, program: str | None = None) -> int:
        # index: site_status (site_id, status, _id)
        query: dict[str, Any] = {"site_id": site_id, "status": status}
        if program:
            query["program"] = program
        return self.referrals.count(query)

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

    def site_ids(self) -> list[str]:
        return [s["_id"] for s in self.sites.find({}, {"_id": 1}, sort=[("_id", 1)])]


def ensure_indexes(db: Database) -> None:
    outbox.ensure_indexes(db)
    db[REFERRALS].create_index([("site_id", 1), ("status", 1), ("_id", 1)], name="site_status")
    db[REFERRALS].create_index([("therapist_id", 1), ("_id", 1)], name="therapist_list")
    db[REFERRALS].create_index([("therapist_id", 1), ("on_caseload", 1)], name="caseload")
    db[PROGRAMS].create_index([("site_id", 1), ("kind", 1)], name="site_kind", unique=True)
    db[CLINICIANS].create_index([("site_id", 1), ("subject", 1)], name="site_subject", unique=True)
    audit.ensure_indexes(db)


def mongo(db: Database, clock: Clock) -> Repositories:
    return Repositories(
        sites=MongoDocumentStore(db[SITES], "site"),
        programs=MongoDocumentStore(db[PROGRAMS], "program"),
        clinicians=MongoDocumentStore(db[CLINICIANS], "clinician"),
        referrals=MongoDocumentStore(db[REFERRALS], "referral"),
        audit=MongoAuditLog(db, clock),
    )


def in_memory(clock: Clock) -> Repositories:
    return Repositories(
        sites=InMemoryDocumentStore("site"),
        programs=InMemoryDocumentStore("program", unique=[("site_id", "kind")]),
        clinicians=InMemoryDocumentStore("clinician", unique=[("site_id", "subject")]),
        referrals=InMemoryDocumentStore("referral"),
        audit=InMemoryAuditLog(clock),
    )
