"""Intake's oversight use cases: contact channels given at send time, the waitlist and its
tallies, the audit trail.
"""

# ruff: noqa: F811 (the tests take the fixtures imported from intake_clinic)
from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from intake_clinic import (  # noqa: F401
    EMAIL,
    NOTIFICATIONS,
    OPERATOR,
    PHONE,
    clinic,
    components,
    coordinator,
    page_args,
    site_body,
)

from dbt_shared.errors import NotFound
from intake.domain.pipeline import WAITING_STAGES
from intake.services import organisation, oversight, referrals


# -- oversight ---------------------------------------------------------------------------------
def test_contact_channels_are_given_at_send_time_and_audited(clinic):
    rid = clinic.receive()

    contact = oversight.contact_for(rid, clinic.c, NOTIFICATIONS)

    assert contact == {
        "client_id": rid,
        "site_id": clinic.site_id,
        "channels": {"email": EMAIL, "sms": PHONE},
        "preferred_channel": "sms",
        "language": "es",
        "timezone": "America/Chicago",
    }
    (read,) = [e for e in clinic.c.repositories.audit.entries if e["object_type"] == "client"]
    assert read["action"] == "client.contact_read" and read["object_id"] == rid
    assert read["actor"] == "service:notifications" and read["site_id"] == clinic.site_id
    with pytest.raises(NotFound):
        oversight.contact_for("no-such-client", clinic.c, NOTIFICATIONS)


def test_the_waitlist_counts_each_stage_and_the_days_waited(clinic, clock):
    oldest = clinic.receive()
    clock.advance(timedelta(days=3))
    screened = clinic.receive()
    clinic.screen(screened)
    clock.advance(timedelta(days=2, hours=23))
    newest, gone, teen = clinic.receive(), clinic.receive(), clinic.receive(program="adolescent")
    referrals.withdraw(gone, {"reason": "other", "note": None}, clinic.c, clinic.coordinator)

    waitlist = oversight.waitlist(page_args(site_id=clinic.site_id), clinic.c, clinic.coordinator)

    waiting = [(e["_id"], e["status"], e["waiting_days"]) for e in waitlist["items"]]
    assert waiting == [
        (oldest, "received", 5),
        (screened, "screening", 2),
        (newest, "received", 0),
        (teen, "received", 0),
    ]
    assert all("client" not in entry for entry in waitlist["items"])
    counts = {s["stage"]: s["count"] for s in waitlist["stages"]}
    assert counts == {stage: 0 for stage in WAITING_STAGES} | {"received": 3, "screening": 1}
    adults = oversight.waitlist(
        page_args(site_id=clinic.site_id, program="adult"), clinic.c, clinic.coordinator
    )
    assert [e["_id"] for e in adults["items"]] == [oldest, screened, newest]
    assert {s["stage"]: s["count"] for s in adults["stages"]}["received"] == 2
    assert "waitlist.read" in clinic.c.repositories.audit.actions()


def test_a_tally_left_off_by_a_killed_process_is_exact_after_the_recount(clinic):
    waiting = [clinic.receive() for _ in range(3)]
    clinic.eligible(waiting[0])
    clinic.assign(waiting[0])
    tallies = clinic.c.repositories.tallies
    # as if a process died between a row's write and its tallies' adjustment
    tallies.adjust(f"waitlist:{clinic.site_id}:adult", {"received": 5})
    tallies.adjust(f"caseload:{clinic.bilingual}", {"n": -1})

    oversight.reconcile_tallies(clinic.c)

    counts = clinic.c.repositories.waiting_counts(clinic.site_id)
    assert counts == {stage: 0 for stage in WAITING_STAGES} | {"received": 2, "eligible": 1}
    assert clinic.c.repositories.caseload(clinic.bilingual) == 1


def test_the_hourly_recount_looks_only_at_sites_changed_since_the_recount_before(clinic):
    clinic.receive()
    tallies = clinic.c.repositories.tallies
    key = f"waitlist:{clinic.site_id}:adult"
    recounted = []
    real = clinic.c.repositories.reconcile_tallies
    clinic.c.repositories.reconcile_tallies = lambda site: recounted.append(site) or real(site)

    # The first run after a start looks back a day: a change made 20 hours ago by a process
    # killed before its recount (the stack then stopped) is recounted.
    clinic.c.clock.advance(timedelta(hours=20))
    tallies.adjust(key, {"received": 5})  # off
    oversight.reconcile_tallies(clinic.c)
    assert recounted == [clinic.site_id]
    assert clinic.c.repositories.waiting_counts(clinic.site_id)["received"] == 1

    clinic.c.clock.advance(timedelta(hours=2))  # two quiet hours: nothing to look at
    tallies.adjust(key, {"received": 5})  # off, with no change of the site's referrals
    oversight.reconcile_tallies(clinic.c)
    assert recounted == [clinic.site_id], "a site at rest is not recounted, whatever its history"

    clinic.receive()  # a change at the site: its tallies are recounted at the next run
    clinic.c.clock.advance(timedelta(hours=1))
    oversight.reconcile_tallies(clinic.c)
    assert recounted == [clinic.site_id, clinic.site_id]
    assert clinic.c.repositories.waiting_counts(clinic.site_id)["received"] == 2


def test_the_waitlist_comes_in_pages(clinic):
    waiting = [clinic.receive() for _ in range(3)]

    first = oversight.waitlist(
        {"site_id": clinic.site_id, "limit": 2, "cursor": None}, clinic.c, clinic.coordinator
    )
    rest = oversight.waitlist(
        {"site_id": clinic.site_id, "limit": 2, "cursor": first["next_cursor"]},
        clinic.c,
        clinic.coordinator,
    )

    assert [e["_id"] for e in first["items"] + rest["items"]] == waiting
    assert rest["next_cursor"] is None


def test_waitlist_sizes_cover_every_stage_of_every_site(clinic):
    organisation.register_site(site_body(name="Quiet"), clinic.c, "site-quiet")
    first, _second = clinic.receive(), clinic.receive()
    clinic.screen(first)

    sizes = oversight.waitlist_sizes(clinic.c)

    expected = {
        (site, stage): 0 for site in (clinic.site_id, "site-quiet") for stage in WAITING_STAGES
    }
    expected[(clinic.site_id, "received")] = 1
    expected[(clinic.site_id, "screening")] = 1
    assert sizes == expected


def test_the_audit_trail_filters_by_object_actor_and_action(clinic):
    rid, other = clinic.receive(), clinic.receive()
    referrals.read(rid, clinic.c, clinic.coordinator)
    referrals.read(rid, clinic.c, OPERATOR)
    oversight.contact_for(rid, clinic.c, NOTIFICATIONS)

    def actions(**filters) -> Counter:
        trail, _ = oversight.audit_trail(page_args(**filters), clinic.c)
        return Counter(e["action"] for e in trail)

    assert actions(object_id=rid) == Counter(
        {"referral.create": 1, "referral.read": 2, "client.contact_read": 1}
    )
    assert actions(object_id=other) == Counter({"referral.create": 1})
    assert actions(actor="op") == Counter({"referral.read": 1})
    assert actions(action="referral.read", object_id=rid) == Counter({"referral.read": 2})
    assert actions(object_type="client") == Counter({"client.contact_read": 1})
    assert sum(actions(site_id=clinic.site_id).values()) == 5
    assert actions(site_id="elsewhere") == Counter()


def test_the_audit_trail_comes_in_pages_that_miss_nothing(clinic):
    rid = clinic.receive()
    for _ in range(4):
        referrals.read(rid, clinic.c, clinic.coordinator)
    everything, _ = oversight.audit_trail(page_args(), clinic.c)

    seen, cursor = [], None
    for _ in range(10):
        trail, cursor = oversight.audit_trail({"limit": 2, "cursor": cursor}, clinic.c)
        seen.extend(e["_id"] for e in trail)
        if cursor is None:
            break

    assert len(everything) == 5
    assert seen == [e["_id"] for e in everything]


def test_the_audit_trail_lists_accesses_in_the_order_they_happened(clinic):
    rid = clinic.receive()
    readers = [f"coord-{n:02d}" for n in range(12)]
    for reader in readers:
        referrals.read(rid, clinic.c, coordinator(clinic.site_id, subject=reader))

    trail, _ = oversight.audit_trail(page_args(object_id=rid, action="referral.read"), clinic.c)

    assert [e["actor"] for e in trail] == readers, "the trail is oldest first"
