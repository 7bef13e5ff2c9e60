"""Who sees and changes which referral in intake's use cases: a therapist their own clients, a
coordinator their own sites; lists filtered and paged; a change decided on a stale copy never
overwrites a newer one.
"""

# ruff: noqa: F811 (the tests take the fixtures imported from intake_clinic)
from __future__ import annotations

import pytest
from intake_clinic import (  # noqa: F401
    AGREED,
    GIVEN,
    LOW_RISK,
    PHONE,
    clinic,
    components,
    coordinator,
    new_id,
    page_args,
    therapist,
)

from dbt_shared.errors import NotFound, StaleWrite
from intake.services import oversight, referrals


# -- who sees what -----------------------------------------------------------------------------
def test_a_therapist_sees_only_the_clients_assigned_to_them(clinic):
    theirs, unassigned, a_colleagues = (
        clinic.receive(language=lang) for lang in ["es", "es", "en"]
    )
    clinic.eligible(theirs)
    clinic.assign(theirs)  # Spanish: the bilingual therapist
    clinic.eligible(a_colleagues)
    clinic.assign(a_colleagues, clinician_id=clinic.english_only)
    ana = therapist(clinic.site_id, "idp|bilingual")

    assert referrals.read(theirs, clinic.c, ana)["client"]["given_name"] == GIVEN
    for hidden in (unassigned, a_colleagues):
        with pytest.raises(NotFound):
            referrals.read(hidden, clinic.c, ana)
    listed, _ = referrals.list_referrals(page_args(site_id=clinic.site_id), clinic.c, ana)
    assert [r["_id"] for r in listed] == [theirs]
    oriented = referrals.start_orientation(theirs, clinic.c, clinic.coordinator)
    assert oriented["status"] == "orientation"
    by_therapist = referrals.record_commitment(
        theirs, {"orientation_sessions": 1, **AGREED}, clinic.c, ana
    )
    assert by_therapist["commitment"]["recorded_by"] == "idp|bilingual"


def test_another_sites_coordinator_can_neither_see_nor_change_a_referral(clinic):
    rid = clinic.receive()
    stranger = coordinator("elsewhere", subject="stranger")

    with pytest.raises(NotFound):
        referrals.read(rid, clinic.c, stranger)
    with pytest.raises(NotFound):
        referrals.record_screening(rid, LOW_RISK, clinic.c, stranger, new_id())
    with pytest.raises(NotFound):
        referrals.list_referrals(page_args(site_id=clinic.site_id), clinic.c, stranger)
    with pytest.raises(NotFound):
        oversight.waitlist(page_args(site_id=clinic.site_id), clinic.c, stranger)
    listed, _ = referrals.list_referrals(page_args(), clinic.c, stranger)
    assert listed == []
    assert clinic.status(rid) == "received"


def test_lists_filter_by_status_and_program_and_come_in_pages(clinic):
    adults = [clinic.receive() for _ in range(3)]
    teen = clinic.receive(program="adolescent")
    clinic.screen(adults[1])

    def ids(**filters) -> list[str]:
        listed, _ = referrals.list_referrals(page_args(**filters), clinic.c, clinic.coordinator)
        return [r["_id"] for r in listed]

    assert ids(site_id=clinic.site_id) == [*adults, teen]
    assert ids(status="received") == [adults[0], adults[2], teen]
    assert ids(program="adolescent") == [teen]
    first, cursor = referrals.list_referrals(
        {"limit": 3, "cursor": None}, clinic.c, clinic.coordinator
    )
    rest, end = referrals.list_referrals(
        {"limit": 3, "cursor": cursor}, clinic.c, clinic.coordinator
    )
    assert [r["_id"] for r in first + rest] == [*adults, teen] and end is None
    assert all("client" not in row for row in first + rest), "lists show no client details"
    assert "referral.list" in clinic.c.repositories.audit.actions()


def test_a_change_decided_on_a_stale_copy_does_not_overwrite_a_newer_one(clinic):
    rid = clinic.receive()
    stale = clinic.c.repositories.referral(rid)
    fresh = clinic.c.repositories.referral(rid)
    fresh.withdraw(
        {"reason": "other", "note": None, "from_status": "received"},
        by="coord",
        now=clinic.c.clock.now(),
    )
    clinic.c.repositories.save_referral(fresh, [])

    stale.correct_contact({"phone": "enc:v1:stale"}, now=clinic.c.clock.now())
    with pytest.raises(StaleWrite):
        clinic.c.repositories.save_referral(stale, [])

    stored = clinic.c.repositories.referral(rid)
    assert stored.status == "withdrawn"
    assert referrals.read(rid, clinic.c, clinic.coordinator)["client"]["phone"] == PHONE
