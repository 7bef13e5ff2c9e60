"""Coaching's storage: each site's coaching hours and rota, overrides and time off, coaching
requests and their pending deadlines, diary cards, alliance check-ins and ruptures, shared
goals, coaching contacts (for clinician load), and the read models of sites, programs,
clinicians and admitted clients.

Built on ``storage.documents`` (MongoDB in the processes, in memory in unit tests). Health
data (diary content, ratings, goal texts, closure outcomes) is sealed by the field cipher before
it reaches a document. Every query names its index; the timers read ``deadlines`` and
``holds``, which hold only what is pending; ``pace`` is one document per client and purpose (the
hour's request count, the last crisis pages), read by ``_id``; nothing reads a collection that
grows with history beyond one client, one clinician-week or one bucket of a list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pymongo.database import Database

from dbt_shared import audit, pagination, read_models, site_directory
from dbt_shared.audit import AuditLog, InMemoryAuditLog, MongoAuditLog
from dbt_shared.clock import Clock
from dbt_shared.events import outbox
from dbt_shared.storage import listing, tallies
from dbt_shared.storage.context import Storage
from dbt_shared.storage.documents import DocumentStore
from dbt_shared.storage.memory_documents import InMemoryDocumentStore
from dbt_shared.storage.tallies import InMemoryTallies, Tallies

SETTINGS = "coaching_settings"  # per site: hours, call-back minutes, emergency route, threshold
ROTAS = "rotas"  # per site: the weekly primary and backup layers
OVERRIDES = "rota_overrides"
TIME_OFF = "time_off"
GAP_REPORTS = "coverage_gaps"  # one per gap reported (the event goes once)
WATCHES = "coverage_watch"  # per site: the gaps reported and not over yet
REQUESTS = "coaching_requests"
DEADLINES = "request_deadlines"  # pending acknowledgement and call-back deadlines only
HOLDS = "request_holds"  # requests held by the 24-hour rule and not released yet, only
PACE = "request_pace"  # per client: this hour's request count, the last crisis pages
CONTACTS = "coaching_contacts"  # closed requests: who, which week, minutes outside hours
LOAD_FLAGS = "load_flags"  # one per clinician and week flagged
DIARY_CARDS = "diary_cards"
CHECKINS = "alliance_checkins"
RUPTURES = "ruptures"
GOALS = "goals"
CLIENTS = read_models.CLIENTS  # admitted clients: site, therapist, the safety state of their cards
CLINICIANS = read_models.CLINICIANS  # intake's clinicians (dbt_shared.read_models)
MISSED_ACKS = "missed_acks"  # per request whose acknowledgement deadline passed: the list

OUTBOX_COLLECTIONS = [GAP_REPORTS, REQUESTS, LOAD_FLAGS, DIARY_CARDS, RUPTURES]

HIDDEN = {outbox.OUTBOX_FIELD: 0}


def site_requests(site_id: str) -> str:
    """The key of a site's list of coaching requests (its sequence)."""
    return f"coaching_requests:{site_id}"


def missed_ack_tally(site_id: str, day: date) -> str:
    """The tally of a site's requests whose acknowledgement deadline passed on one (UTC) day."""
    return f"requests:missed-ack:{site_id}:{day.isoformat()}"


@dataclass
class Repositories:
    settings: DocumentStore
    rotas: DocumentStore
    overrides: DocumentStore
    time_off: DocumentStore
    gaps: DocumentStore
    watches: DocumentStore
    requests: DocumentStore
    deadlines: DocumentStore
    holds: DocumentStore
    pace: DocumentStore
    contacts: DocumentStore
    load_flags: DocumentStore
    cards: DocumentStore
    checkins: DocumentStore
    ruptures: DocumentStore
    goals: DocumentStore
    clients: DocumentStore
    clinicians: read_models.Clinicians
    sites: DocumentStore
    programs: DocumentStore
    sequences: listing.Sequences
    audit: AuditLog
    tallies: Tallies
    missed_acks: DocumentStore

    # -- figures for the operators' overview (tallies: a few reads by key, no count) -----------
    def count_missed_ack(self, site_id: str, at: datetime, request: dict | None = None) -> None:
        day = at.astimezone(UTC).date()
        # tagged with its day: the overview reads every site's day in one find (index kind_day)
        self.tallies.adjust(
            missed_ack_tally(site_id, day),
            {"n": 1},
            site_id=site_id,
            kind="ack",
            day=day.isoformat(),
        )
        if request is not None:  # the list behind the figure: ids and the kind, no content
            record = {
                "_id": request["_id"],
                "site_id": site_id,
                "day": day.isoformat(),
                "missed_at": at,
                "kind": request.get("kind"),
                "client_id": request.get("client_id"),
            }
            self.missed_acks.insert_many([record])  # once per request

    def missed_acks_on(self, site_id: str, day: date) -> list[dict[str, Any]]:
        """The site's requests whose acknowledgement deadline passed on one (UTC) day: index
        ``site_day`` (site_id, day), one day's few records, never the requests' history."""
        query = {"site_id": site_id, "day": day.isoformat()}
        return self.missed_acks.find(query, sort=[("_id", 1)])

    def missed_acks_in_days(self, site_id: str, today: date, days: int) -> int:
        """Requests whose acknowledgement came too late or not at all (first escalated) on
        ``today`` and the ``days - 1`` days before: one read per day (tallies index ``key``)."""
        return sum(
            int(self.tallies.get(missed_ack_tally(site_id, today - timedelta(days=n))).get("n", 0))
            for n in range(days)
        )

    def missed_acks_in_days_by_site(self, today: date, days: int) -> dict[str, int]:
        """Every site's ``missed_acks_in_days``: one read per day for all sites."""
        return tallies.by_site_in_days(self.tallies, "ack", today, days)

    # -- availability --------------------------------------------------------------------------
    def overrides_of(self, site_id: str) -> list[dict[str, Any]]:
        # index: site (site_id): a site's overrides, current or to come (ended ones are purged)
        return self.overrides.find({"site_id": site_id}, sort=[("created_at", 1), ("_id", 1)])

    def time_off_of_site(self, site_id: str) -> list[dict[str, Any]]:
        # index: site (site_id): the time off of a site's clinicians, current or to come
        return self.time_off.find({"site_id": site_id}, sort=[("_id", 1)])

    # -- requests ------------------------------------------------------------------------------
    def active_requests(
        self, site_id: str, status: str | None = None, limit: int = 200
    ) -> list[dict[str, Any]]:
        # index: site_active (site_id, active): what is in hand now, a few at a time
        query: dict[str, Any] = {"site_id": site_id, "active": True}
        if status:
            query["status"] = status
        return self.requests.find(query, HIDDEN, sort=[("created_at", 1), ("_id", 1)], limit=limit)

    def due_deadlines(self, limit: int = 200) -> list[dict[str, Any]]:
        # index: due (due_at): only pending deadlines are stored, so this reads what is pending
        return self.deadlines.find({}, sort=[("due_at", 1), ("_id", 1)], limit=limit)

    def due_holds(self, limit: int = 200) -> list[dict[str, Any]]:
        # index: due (due_at, _id): only holds not released yet are stored, so this reads what
        # is pending (a handful per site), never the history of held requests
        return self.holds.find({}, sort=[("due_at", 1), ("_id", 1)], limit=limit)

    def contacts_in_week(self, clinician_id: str, week: str) -> list[dict[str, Any]]:
        # index: clinician_week (clinician_id, week): one clinician's contacts of one week
        return self.contacts.find({"clinician_id": clinician_id, "week": week})

    def contacts_in_month(self, site_id: str, month: str) -> list[dict[str, Any]]:
        # index: site_month (site_id, month): one site's contacts of one local month (equality
        # only, which FerretDB pushes down), for the after-hours figures against the team
        return self.contacts.find({"site_id": site_id, "month": month})

    # -- diary cards and the relationship ------------------------------------------------------
    def cards_between(self, client_id: str, first: str, last: str) -> list[dict[str, Any]]:
        # _id is "<client>:<date>": one _id read per day of the week
        found = []
        for day in _days(first, last):
            card = self.cards.get(f"{client_id}:{day}")
            if card is not None:
                found.append(card)
        return found

    def checkins_of(self, client_id: str) -> list[dict[str, Any]]:
        # index: client (client_id, at): one client's check-ins, oldest first
        return self.checkins.find({"client_id": client_id}, HIDDEN, sort=[("at", 1), ("_id", 1)])

    def ruptures_of(self, client_id: str) -> list[dict[str, Any]]:
        # index: client (client_id): one client's ruptures
        return self.ruptures.find({"client_id": client_id}, HIDDEN, sort=[("flagged_at", 1)])

    def goals_page(
        self, client_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        # index: client_goals (client_id, _id): one client's goals, a keyset page in _id order
        # (goal ids are time-ordered, so oldest first)
        return pagination.page(
            self.goals, {"client_id": client_id}, limit=limit, cursor=cursor, projection=HIDDEN
        )

    # -- read models ---------------------------------------------------------------------------
    def client(self, client_id: str) -> dict[str, Any] | None:
        return self.clients.get(client_id)  # index: _id

    def clients_of_therapist(self, therapist_id: str) -> list[dict[str, Any]]:
        # index: therapist (therapist_id): one clinician's caseload
        return self.clients.find({"therapist_id": therapist_id}, sort=[("_id", 1)])

    def program(self, program_id: str) -> dict[str, Any] | None:
        return self.programs.get(program_id)  # index: _id

    def site(self, site_id: str) -> dict[str, Any] | None:
        return self.sites.get(site_id)  # index: _id

    def site_ids(self) -> list[str]:
        # the site directory: one document per site of the organisation
        return [s["_id"] for s in self.sites.find({}, {"_id": 1}, sort=[("_id", 1)])]


def _days(first: str, last: str) -> list[str]:
    from datetime import date, timedelta

    day, end = date.fromisoformat(first), date.fromisoformat(last)
    out = []
    while day <= end:
        out.append(day.isoformat())
        day += timedelta(days=1)
    return out


def ensure_indexes(db: Database) -> None:
    outbox.ensure_indexes(db)
    tallies.ensure_indexes(db)
    db[OVERRIDES].create_index("site_id", name="site")
    db[TIME_OFF].create_index("site_id", name="site")
    db[REQUESTS].create_index([("site_id", 1), ("active", 1)], name="site_active")
    db[REQUESTS].create_index([("site_id", 1), ("site_bucket", 1), ("_id", 1)], name="site_list")
    db[DEADLINES].create_index([("due_at", 1), ("_id", 1)], name="due")
    db[HOLDS].create_index([("due_at", 1), ("_id", 1)], name="due")
    db[CONTACTS].create_index([("clinician_id", 1), ("week", 1)], name="clinician_week")
    db[CHECKINS].create_index([("client_id", 1), ("at", 1)], name="client")
    db[RUPTURES].create_index("client_id", name="client")
    db[GOALS].create_index([("client_id", 1), ("_id", 1)], name="client_goals")  # a page
    # a site's requests whose acknowledgement was missed on one day (the overview's list)
    db[MISSED_ACKS].create_index([("site_id", 1), ("day", 1)], name="site_day")
    read_models.ensure_indexes(db)  # the clinicians' site and subject
    db[CLIENTS].create_index("therapist_id", name="therapist")
    db[CONTACTS].create_index([("site_id", 1), ("month", 1)], name="site_month")
    audit.ensure_indexes(db)


def mongo(storage: Storage, clock: Clock) -> Repositories:
    return Repositories(
        settings=storage.documents(SETTINGS, "coaching settings"),
        rotas=storage.documents(ROTAS, "rota"),
        overrides=storage.documents(OVERRIDES, "override"),
        time_off=storage.documents(TIME_OFF, "time off"),
        gaps=storage.documents(GAP_REPORTS, "coverage gap"),
        watches=storage.documents(WATCHES, "coverage watch"),
        requests=storage.documents(REQUESTS, "coaching request"),
        deadlines=storage.documents(DEADLINES, "deadline"),
        holds=storage.documents(HOLDS, "hold"),
        pace=storage.documents(PACE, "request pace"),
        contacts=storage.documents(CONTACTS, "coaching contact"),
        load_flags=storage.documents(LOAD_FLAGS, "load flag"),
        cards=storage.documents(DIARY_CARDS, "diary card"),
        checkins=storage.documents(CHECKINS, "check-in"),
        ruptures=storage.documents(RUPTURES, "rupture"),
        goals=storage.documents(GOALS, "goal"),
        clients=storage.documents(CLIENTS, "client"),
        clinicians=read_models.Clinicians(storage.documents(CLINICIANS, "clinician")),
        sites=storage.documents(site_directory.COLLECTION, "site"),
        programs=storage.documents(site_directory.PROGRAMS_COLLECTION, "program"),
        sequences=storage.sequences(blocks=False),
        audit=MongoAuditLog(storage, clock),
        tallies=storage.tallies(),
        missed_acks=storage.documents(MISSED_ACKS, "missed acknowledgement"),
    )


def in_memory(clock: Clock) -> Repositories:
    return Repositories(
        settings=InMemoryDocumentStore("coaching settings"),
        rotas=InMemoryDocumentStore("rota"),
        overrides=InMemoryDocumentStore("override"),
        time_off=InMemoryDocumentStore("time off"),
        gaps=InMemoryDocumentStore("coverage gap"),
        watches=InMemoryDocumentStore("coverage watch"),
        requests=InMemoryDocumentStore("coaching request"),
        deadlines=InMemoryDocumentStore("deadline"),
        holds=InMemoryDocumentStore("hold"),
        pace=InMemoryDocumentStore("request pace"),
        contacts=InMemoryDocumentStore("coaching contact"),
        load_flags=InMemoryDocumentStore("load flag"),
        cards=InMemoryDocumentStore("diary card"),
        checkins=InMemoryDocumentStore("check-in"),
        ruptures=InMemoryDocumentStore("rupture"),
        goals=InMemoryDocumentStore("goal"),
        clients=InMemoryDocumentStore("client"),
        clinicians=read_models.Clinicians(InMemoryDocumentStore("clinician")),
        sites=InMemoryDocumentStore("site"),
        programs=InMemoryDocumentStore("program"),
        sequences=listing.InMemorySequences(),
        audit=InMemoryAuditLog(clock),
        tallies=InMemoryTallies(),
        missed_acks=InMemoryDocumentStore("missed acknowledgement"),
    )
