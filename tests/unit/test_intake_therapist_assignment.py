"""Assigning a therapist to a referral in intake's use cases: matched by program, language and
caseload, the client's preference honoured, by hand, or refused saying why.
"""

# ruff: noqa: F811 (the tests take the fixtures imported from intake_clinic)
from __future__ import annotations

import pytest
from intake_clinic import clinic, components, events_of  # noqa: F401

from dbt_shared.contracts import intake as contract
from dbt_shared.errors import Conflict, InvalidInput


def test_the_least_loaded_therapist_who_speaks_the_language_is_matched(clinic):
    first, second = clinic.receive(language="en"), clinic.receive(language="en")
    for rid in (first, second):
        clinic.eligible(rid)

    one = clinic.assign(first)["therapist"]
    other = clinic.assign(second)["therapist"]

    # Both free: the tie goes to the first registered; then the other one is less loaded.
    assert one["clinician_id"] == clinic.english_only
    assert other["clinician_id"] == clinic.bilingual
    assert other["reasons"] == [
        "treats adult program",
        "speaks en",
        "caseload 0 of 10 (least loaded of 2 eligible)",
    ]


def test_the_clients_preferred_therapist_is_honoured_when_they_fit(clinic):
    rid = clinic.receive(language="en")
    clinic.eligible(rid)

    chosen = clinic.assign(rid, preferred_clinician_id=clinic.bilingual)["therapist"]

    assert chosen["clinician_id"] == clinic.bilingual
    assert chosen["reasons"][0] == "client's preferred therapist"


def test_a_therapist_can_be_assigned_by_hand(clinic):
    rid = clinic.receive(language="es")
    clinic.eligible(rid)

    chosen = clinic.assign(rid, clinician_id=clinic.english_only)["therapist"]

    assert chosen["clinician_id"] == clinic.english_only
    assert chosen["method"] == "manual" and chosen["reasons"] == ["assigned by hand"]
    (event,) = events_of(clinic.c, contract.THERAPIST_ASSIGNED)
    assert event.data["therapist_id"] == clinic.english_only and event.data["method"] == "manual"
    with pytest.raises(InvalidInput) as unknown:
        clinic.assign(rid, clinician_id="clin-nobody")
    assert [e["field"] for e in unknown.value.field_errors] == ["clinician_id"]


def test_no_match_says_why_and_assigns_nobody(clinic):
    rid = clinic.receive(language="fr")
    clinic.eligible(rid)

    with pytest.raises(Conflict) as refused:
        clinic.assign(rid)

    assert refused.value.members["reasons"] == ["no therapist speaks fr"]
    assert clinic.c.repositories.referral(rid).therapist_id is None
    assert events_of(clinic.c, contract.THERAPIST_ASSIGNED) == []
