"""Skills Group's storage: groups, their sessions, closures, enrollments, attendance, the
admitted clients it places, and the read models of sites, programs and clinicians.

Built on ``dbt_shared.storage.documents`` (MongoDB in the processes, in memory in unit tests). Every
query names its index; none reads more than one group's calendar, one site's day, one group's
members or what waits: nothing that grows with the history of the clinic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pymongo.database import Database

from dbt_shared import audit, pagination, read_models, site_directory
from dbt_shared.audit import AuditLog, InMemoryAuditLog, MongoAuditLog
from dbt_shared.clock import Clock
from dbt_shared.events import outbox
from dbt_shared.http_fields import ID_PATTERN
from dbt_shared.storage.context import Storage
from dbt_shared.storage.documents import DocumentStore
from dbt_shared.storage.memory_documents import InMemoryDocumentStore
from skills_group.domain.statuses import ACTIVE, WAITING

GROUPS = "groups"
SESSIONS = "sessions"
CLOSURES = "closures"
ENROLLMENTS = "enrollments"
ATTENDANCE = "attendance"
CLIENTS = read_models.CLIENTS  # admitted clients: where they stand with placement
CLINICIANS = read_models.CLINICIANS  # intake's clinicians (dbt_shared.read_models)
FEEDS = "calendar_feeds"
# One document per saved attendance sheet (counts only), carrying its ``attendance.recorded``:
# inserted, never updated, so two facilitators saving at once never contend on a document.
SHEETS = "attendance_sheets"

# Collections whose documents carry pending events for the outbox relay.
OUTBOX_COLLECTIONS = [GROUPS, SESSIONS, ENROLLMENTS, CLIENTS, SHEETS]

HIDDEN = {outbox.OUTBOX_FIELD: 0}


@dataclass
class Repositories:
    groups: DocumentStore
    sessions: DocumentStore
    closures: DocumentStore
    enrollments: DocumentStore
    attendance: DocumentStore
    clients: DocumentStore
    clinicians: read_models.Clinicians
    sites: DocumentStore
    programs: DocumentStore
    feeds: DocumentStore
    sheets: DocumentStore
    audit: AuditLog

    def groups_of(
        self, site_id: str, program_id: str | None = None, limit: int = 0
    ) -> list[dict[str, Any]]:
        # index: site_program (site_id, program_id): a site's few groups
        query: dict[str, Any] = {"site_id": site_id}
        if program_id:
            query["program_id"] = program_id
        return self.groups.find(query, HIDDEN, sort=[("_id", 1)], limit=limit)

    def groups_page(
        self, site_id: str, program_id: str | None, after: str | None, limit: int
    ) -> list[dict[str, Any]]:
        """A site's groups (of a program) in ``_id`` order after ``after``: a keyset page.
        index: site_groups (site_id, _id); with a program, site_program (site_id, program_id),
        that program's few groups a year sorted after it"""
        query: dict[str, Any] = {"site_id": site_id}
        if program_id:
            query["program_id"] = program_id
        if after is not None:
            query["_id"] = {"$gt": after}
        return self.groups.find(query, HIDDEN, sort=[("_id", 1)], limit=limit)

    def site_ids(self) -> list[str]:
        # index: _id: the sites read model, one document per site (tens; does not grow with time)
        return [s["_id"] for s in self.sites.find({}, {"_id": 1}, sort=[("_id", 1)])]

    def calendar(self, group_id: str) -> list[dict[str, Any]]:
        # index: group_calendar (group_id, index): one group's sessions, some hundreds at most
        return self.sessions.find({"group_id": group_id}, HIDDEN, sort=[("index", 1)])

    def sessions_on(self, site_id: str, day: str) -> list[dict[str, Any]]:
        # index: site_day (site_id, date): a site's sessions of one day, for conflicts
        return self.sessions.find({"site_id": site_id, "date": day}, HIDDEN)

    def closures_of(self, site_id: str) -> list[dict[str, Any]]:
        # index: site_closures (site_id): a site's closure days, tens a year
        return self.closures.find({"site_id": site_id}, sort=[("date", 1)])

    def members(self, group_id: str) -> list[dict[str, Any]]:
        # index: group_status (group_id, status): who holds a seat now
        return self.enrollments.find({"group_id": group_id, "status": ACTIVE}, HIDDEN)

    def enrollments_of(self, group_id: str) -> list[dict[str, Any]]:
        # index: group_status: a group's enrollments, every status (a group's size over time)
        return self.enrollments.find({"group_id": group_id}, HIDDEN, sort=[("_id", 1)])

    def client_enrollments(self, client_id: str) -> list[dict[str, Any]]:
        # index: client (client_id): one client's enrollments
        return self.enrollments.find({"client_id": client_id}, HIDDEN, sort=[("_id", 1)])

    def waiting(self, site_id: str, program_id: str | None = None) -> list[dict[str, Any]]:
        # index: site_waiting (site_id, status, admitted_at): what waits now, oldest first
        query: dict[str, Any] = {"site_id": site_id, "status": WAITING}
        if program_id:
            query["program_id"] = program_id
        return self.clients.find(query, HIDDEN, sort=[("admitted_at", 1), ("_id", 1)])

    def waiting_page(
        self, site_id: str, program_id: str | None, *, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A page of what waits now, oldest first, and the next page's cursor: a keyset on
        (admitted_at, _id) after the client the cursor names, whose admission time is read as
        stored (index _id), so it compares like for like. A cursor naming no client starts at the
        front (any string of the pattern is a place in the list).
        index: site_waiting (site_id, status, admitted_at): the site's queue, not its history"""
        query: dict[str, Any] = {"site_id": site_id, "status": WAITING}
        if program_id:
            query["program_id"] = program_id
        after = pagination.decode_cursor(cursor) if cursor else None
        # only an id of the pattern can name a client (and PostgreSQL under FerretDB refuses a
        # NUL in an _id equality: cursor "00" answered 500)
        last = self.clients.get(after) if after and re.fullmatch(ID_PATTERN, after) else None
        if last is not None:
            at = last.get("admitted_at")
            later = {
                "$or": [
                    {"admitted_at": {"$gt": at}},
                    {"admitted_at": at, "_id": {"$gt": last["_id"]}},
                ]
            }
            query = {"$and": [query, later]}
        found = self.clients.find(
            query, HIDDEN, sort=[("admitted_at", 1), ("_id", 1)], limit=limit + 1
        )
        more = len(found) > limit
        found = found[:limit]
        return found, (pagination.encode_cursor(found[-1]["_id"]) if more else None)

    def records_of_session(self, session_id: str) -> list[dict[str, Any]]:
        # index: session (session_id)
        return self.attendance.find({"session_id": session_id})

    def records_of_enrollment(self, enrollment_id: str) -> list[dict[str, Any]]:
        # index: enrollment (enrollment_id, index): one membership's records, in session order
        return self.attendance.find({"enrollment_id": enrollment_id}, sort=[("index", 1)])

    def program(self, program_id: str) -> dict[str, Any] | None:
        return self.programs.get(program_id)  # index: _id

    def site(self, site_id: str) -> dict[str, Any] | None:
        return self.sites.get(site_id)  # index: _id


def ensure_indexes(db: Database) -> None:
    outbox.ensure_indexes(db)
    db[GROUPS].create_index([("site_id", 1), ("program_id", 1)], name="site_program")
    db[GROUPS].create_index([("site_id", 1), ("_id", 1)], name="site_groups")  # list pages
    db[SESSIONS].create_index([("group_id", 1), ("index", 1)], name="group_calendar")
    db[SESSIONS].create_index([("site_id", 1), ("date", 1)], name="site_day")
    db[CLOSURES].create_index("site_id", name="site_closures")
    db[ENROLLMENTS].create_index([("group_id", 1), ("status", 1)], name="group_status")
    db[ENROLLMENTS].create_index("client_id", name="client")
    db[ENROLLMENTS].create_index("status", name="status")  # the active ones, for graduation
    db[ATTENDANCE].create_index("session_id", name="session")
    db[ATTENDANCE].create_index([("enrollment_id", 1), ("index", 1)], name="enrollment")
    db[CLIENTS].create_index(
        [("site_id", 1), ("status", 1), ("admitted_at", 1)], name="site_waiting"
    )
    db[FEEDS].create_index("secret_hash", name="secret", unique=True)
    db[FEEDS].create_index([("site_id", 1), ("active", 1), ("_id", 1)], name="site_active")
    db[FEEDS].create_index([("created_by", 1), ("active", 1), ("_id", 1)], name="owner_active")
    read_models.ensure_indexes(db)  # the clinicians' site and subject
    audit.ensure_indexes(db)


def mongo(storage: Storage, clock: Clock) -> Repositories:
    return Repositories(
        groups=storage.documents(GROUPS, "group"),
        sessions=storage.documents(SESSIONS, "session"),
        closures=storage.documents(CLOSURES, "closure"),
        enrollments=storage.documents(ENROLLMENTS, "enrollment"),
        attendance=storage.documents(ATTENDANCE, "attendance record"),
        clients=storage.documents(CLIENTS, "client"),
        clinicians=read_models.Clinicians(storage.documents(CLINICIANS, "clinician")),
        sites=storage.documents(site_directory.COLLECTION, "site"),
        programs=storage.documents(site_directory.PROGRAMS_COLLECTION, "program"),
        feeds=storage.documents(FEEDS, "calendar feed"),
        sheets=storage.documents(SHEETS, "attendance sheet"),  # index: _id only (no reads)
        audit=MongoAuditLog(storage, clock),
    )


def in_memory(clock: Clock) -> Repositories:
    return Repositories(
        groups=InMemoryDocumentStore("group"),
        sessions=InMemoryDocumentStore("session"),
        closures=InMemoryDocumentStore("closure"),
        enrollments=InMemoryDocumentStore("enrollment"),
        attendance=InMemoryDocumentStore("attendance record"),
        clients=InMemoryDocumentStore("client"),
        clinicians=read_models.Clinicians(InMemoryDocumentStore("clinician")),
        sites=InMemoryDocumentStore("site"),
        programs=InMemoryDocumentStore("program"),
        feeds=InMemoryDocumentStore("calendar feed", unique=[("secret_hash",)]),
        sheets=InMemoryDocumentStore("attendance sheet"),
        audit=InMemoryAuditLog(clock),
    )
