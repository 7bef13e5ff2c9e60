"""The waitlist names its clients itself: each list row carries the client's name sealed as in
the referral, so a page of 50 names is the page's one read of its rows, not 50 reads of
referrals (the console's waitlist made a second call that read each referral by its id). The
names are on the audit trail before they leave intake, and never readable in a row at rest."""

# ruff: noqa: F811 (the tests take the fixtures imported from intake_clinic)
from __future__ import annotations

from intake_clinic import FAMILY, GIVEN, clinic, components, page_args  # noqa: F401

from intake.services import oversight


class ReadsById:
    """The referrals store, with the ids ``find_ids`` was asked for recorded."""

    def __init__(self, store) -> None:
        self.store = store
        self.asked: list[str] = []

    def find_ids(self, ids, projection=None):
        self.asked.extend(ids)
        return self.store.find_ids(ids, projection)

    def __getattr__(self, name):
        return getattr(self.store, name)


def test_the_waitlist_names_each_client_from_its_rows_and_audits_them(clinic):
    ids = [clinic.receive() for _ in range(3)]
    spy = ReadsById(clinic.c.repositories.referrals)
    clinic.c.repositories.referrals = spy

    page = oversight.waitlist(page_args(site_id=clinic.site_id), clinic.c, clinic.coordinator)

    assert [(e["_id"], e["display_name"]) for e in page["items"]] == [
        (i, f"{GIVEN} {FAMILY}") for i in ids
    ]
    assert spy.asked == []  # no referral read for a name
    (shown,) = [
        e for e in clinic.c.repositories.audit.entries if e["action"] == "client.display_names"
    ]
    assert shown["actor"] == "coord" and shown["site_id"] == clinic.site_id
    rows = clinic.c.repositories.rows.find({"site_id": clinic.site_id})
    assert rows and all(GIVEN not in str(row) and FAMILY not in str(row) for row in rows)


def test_a_row_written_without_the_name_is_named_from_its_referral(clinic):
    first, _ = clinic.receive(), clinic.receive()
    for row in clinic.c.repositories.rows.find({"_id": first}):
        row.pop("client_name")
        clinic.c.repositories.rows.put(row)
    spy = ReadsById(clinic.c.repositories.referrals)
    clinic.c.repositories.referrals = spy

    page = oversight.waitlist(page_args(site_id=clinic.site_id), clinic.c, clinic.coordinator)

    assert [e["display_name"] for e in page["items"]] == [f"{GIVEN} {FAMILY}"] * 2
    assert spy.asked == [first]


def test_a_list_of_referrals_names_only_the_clients_the_caller_sees(clinic):
    """A therapist's list shows their own clients' names; a coordinator's, every client of the
    site; each name shown is on the audit trail, none read from a referral."""
    from intake_clinic import therapist

    from intake.services import referrals

    mine, other = clinic.receive(), clinic.receive()
    clinic.committed(mine)
    clinic.assign(mine, clinician_id=clinic.bilingual)
    spy = ReadsById(clinic.c.repositories.referrals)
    clinic.c.repositories.referrals = spy
    audit = clinic.c.repositories.audit

    listed, _ = referrals.list_referrals(
        page_args(site_id=clinic.site_id), clinic.c, clinic.coordinator
    )
    assert {e["_id"]: e["display_name"] for e in listed} == {
        mine: f"{GIVEN} {FAMILY}",
        other: f"{GIVEN} {FAMILY}",
    }
    (shown,) = [e for e in audit.entries if e["action"] == "client.display_names"]
    assert shown["actor"] == "coord"

    own, _ = referrals.list_referrals(
        page_args(), clinic.c, therapist(clinic.site_id, "idp|bilingual")
    )
    assert [(e["_id"], e["display_name"]) for e in own] == [(mine, f"{GIVEN} {FAMILY}")]
    assert spy.asked == []
