"""Intake's use cases for sites, programs and clinicians, on the in-memory wiring: registered,
configured, listed and kept to their site.
"""

# ruff: noqa: F811 (the tests take the fixtures imported from intake_clinic)
from __future__ import annotations

import pytest
from intake_clinic import (  # noqa: F401
    OPERATOR,
    clinic,
    clinician_body,
    components,
    coordinator,
    page_args,
    site_body,
)

from dbt_shared.contracts import intake as contract
from dbt_shared.errors import Conflict, InvalidInput, NotFound
from intake.services import organisation, referrals


# -- sites -------------------------------------------------------------------------------------
def test_a_registered_site_is_listed_read_and_announced(components, clock):
    site = organisation.register_site(site_body(), components, "site-1")

    assert site["created_at"] == clock.now() and site["timezone"] == "America/Chicago"
    assert organisation.site("site-1", components, OPERATOR)["name"] == "Riverside Clinic"
    listed, cursor = organisation.list_sites(page_args(), components, OPERATOR)
    assert [s["_id"] for s in listed] == ["site-1"] and cursor is None
    (event,) = components.repositories.sites.events
    assert event.type == contract.SITE_REGISTERED
    assert event.data["site_id"] == "site-1" and event.data["timezone"] == "America/Chicago"


def test_a_coordinator_sees_their_own_sites_only(components):
    for site_id in ("site-a", "site-b"):
        organisation.register_site(site_body(name=site_id), components, site_id)
    of_a = coordinator("site-a")

    listed, _ = organisation.list_sites(page_args(), components, of_a)
    assert [s["_id"] for s in listed] == ["site-a"]
    assert organisation.site("site-a", components, of_a)["name"] == "site-a"
    with pytest.raises(NotFound):
        organisation.site("site-b", components, of_a)
    with pytest.raises(NotFound):
        organisation.site("no-such-site", components, OPERATOR)


def test_sites_are_listed_in_pages(components):
    for n in range(5):
        organisation.register_site(site_body(name=f"Site {n}"), components, f"site-{n}")

    first, cursor = organisation.list_sites({"limit": 2, "cursor": None}, components, OPERATOR)
    second, cursor = organisation.list_sites({"limit": 2, "cursor": cursor}, components, OPERATOR)
    third, last = organisation.list_sites({"limit": 2, "cursor": cursor}, components, OPERATOR)

    assert [s["_id"] for s in first + second + third] == [f"site-{n}" for n in range(5)]
    assert last is None


# -- programs ----------------------------------------------------------------------------------
def test_a_new_program_takes_the_standard_dbt_settings(components):
    organisation.register_site(site_body(), components, "site-1")

    adult = organisation.create_program(
        "site-1", {"kind": "adult", "settings": {}}, components, OPERATOR
    )
    teen = organisation.create_program(
        "site-1", {"kind": "adolescent", "settings": {}}, components, OPERATOR
    )

    assert adult["_id"] == "site-1:adult"
    assert adult["settings"] == {
        "consecutive_miss_limit": 4,
        "late_minutes_count_as_absence": 15,
        "prenotified_absences_count": True,
        "twenty_four_hour_rule": True,
        "coaching_ack_target_minutes": 15,
        "group_capacity": 8,
        "curriculum": "M2 DT6 M2 ER6 M2 IE6",
        "closure_policy": "shift",
        "placement_horizon_weeks": 12,
        "cycle_weeks": 24,
    }
    assert teen["settings"]["twenty_four_hour_rule"] is False
    assert "WMP" in teen["settings"]["curriculum"] and teen["settings"]["cycle_weeks"] == 20
    listed = organisation.list_programs("site-1", components, coordinator("site-1"))
    assert [p["kind"] for p in listed] == ["adolescent", "adult"]
    announced = [e.data for e in components.repositories.programs.events]
    assert [(d["program_id"], d["settings"]["group_capacity"]) for d in announced] == [
        ("site-1:adult", 8),
        ("site-1:adolescent", 8),
    ]


def test_a_changed_setting_leaves_the_others_as_they_were(components):
    organisation.register_site(site_body(), components, "site-1")
    organisation.create_program(
        "site-1", {"kind": "adult", "settings": {"group_capacity": 9}}, components, OPERATOR
    )

    changed = organisation.change_program(
        "site-1",
        "site-1:adult",
        {"settings": {"twenty_four_hour_rule": False, "curriculum": "m1 dt4 m1 er4"}},
        components,
        OPERATOR,
    )

    assert changed["settings"]["group_capacity"] == 9
    assert changed["settings"]["twenty_four_hour_rule"] is False
    assert changed["settings"]["curriculum"] == "M1 DT4 M1 ER4"
    assert changed["settings"]["cycle_weeks"] == 10
    (stored,) = organisation.list_programs("site-1", components, OPERATOR)
    assert stored["settings"] == changed["settings"]
    last = components.repositories.programs.events[-1]
    assert last.type == contract.PROGRAM_CONFIGURED
    assert last.data["settings"]["twenty_four_hour_rule"] is False


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("group_capacity", 0),
        ("consecutive_miss_limit", 13),
        ("late_minutes_count_as_absence", -1),
        ("twenty_four_hour_rule", "yes"),
        ("curriculum", "DT6 ER6"),  # no mindfulness block: nowhere to join
        ("closure_policy", "sometimes"),
    ],
)
def test_a_setting_out_of_range_is_refused_naming_it(components, name, value):
    organisation.register_site(site_body(), components, "site-1")
    with pytest.raises(InvalidInput) as refused_create:
        organisation.create_program(
            "site-1", {"kind": "adult", "settings": {name: value}}, components, OPERATOR
        )
    assert [e["field"] for e in refused_create.value.field_errors] == [f"settings.{name}"]
    assert organisation.list_programs("site-1", components, OPERATOR) == []

    organisation.create_program("site-1", {"kind": "adult", "settings": {}}, components, OPERATOR)
    with pytest.raises(InvalidInput) as refused_change:
        organisation.change_program(
            "site-1", "site-1:adult", {"settings": {name: value}}, components, OPERATOR
        )
    assert [e["field"] for e in refused_change.value.field_errors] == [f"settings.{name}"]
    (kept,) = organisation.list_programs("site-1", components, OPERATOR)
    assert kept["settings"]["group_capacity"] == 8 and kept["settings"]["cycle_weeks"] == 24


def test_a_module_the_program_does_not_teach_is_refused(components):
    """Walking the Middle Path is for adolescents: a new adult program with it is bad input; a
    change that adds it to a stored adult program conflicts with that program (409)."""
    organisation.register_site(site_body(), components, "site-1")
    adult_with_wmp = {"kind": "adult", "settings": {"curriculum": "M2 WMP4"}}
    with pytest.raises(InvalidInput) as refused_create:
        organisation.create_program("site-1", adult_with_wmp, components, OPERATOR)
    assert [e["field"] for e in refused_create.value.field_errors] == ["settings.curriculum"]

    organisation.create_program("site-1", {"kind": "adult", "settings": {}}, components, OPERATOR)
    with pytest.raises(Conflict, match="adolescent programs only"):
        organisation.change_program(
            "site-1", "site-1:adult", {"settings": {"curriculum": "M2 WMP4"}}, components, OPERATOR
        )
    (kept,) = organisation.list_programs("site-1", components, OPERATOR)
    assert kept["settings"]["curriculum"] == "M2 DT6 M2 ER6 M2 IE6"


def test_a_second_program_of_the_same_kind_is_a_conflict(components):
    organisation.register_site(site_body(), components, "site-1")
    organisation.create_program(
        "site-1", {"kind": "adult", "settings": {"group_capacity": 9}}, components, OPERATOR
    )

    with pytest.raises(Conflict):
        organisation.create_program(
            "site-1", {"kind": "adult", "settings": {"group_capacity": 5}}, components, OPERATOR
        )

    (kept,) = organisation.list_programs("site-1", components, OPERATOR)
    assert kept["settings"]["group_capacity"] == 9
    assert len(components.repositories.programs.events) == 1


def test_another_sites_programs_are_not_found(components):
    for site_id in ("site-a", "site-b"):
        organisation.register_site(site_body(name=site_id), components, site_id)
    organisation.create_program("site-a", {"kind": "adult", "settings": {}}, components, OPERATOR)

    with pytest.raises(NotFound):
        organisation.list_programs("site-a", components, coordinator("site-b"))
    with pytest.raises(NotFound):  # site-a's program reached through site-b's address
        organisation.change_program(
            "site-b", "site-a:adult", {"settings": {"group_capacity": 3}}, components, OPERATOR
        )
    with pytest.raises(NotFound):
        organisation.create_program(
            "no-such-site", {"kind": "adult", "settings": {}}, components, OPERATOR
        )
    (kept,) = organisation.list_programs("site-a", components, OPERATOR)
    assert kept["settings"]["group_capacity"] == 8


# -- clinicians --------------------------------------------------------------------------------
def test_a_clinician_is_registered_once_per_site(components):
    for site_id in ("site-a", "site-b"):
        organisation.register_site(site_body(name=site_id), components, site_id)
    body = clinician_body("idp|ana", ["en", "es"])

    ana = organisation.register_clinician("site-a", body, components, OPERATOR, "clin-1")
    assert ana["caseload"] == 0 and ana["active"] is True and ana["site_id"] == "site-a"
    with pytest.raises(Conflict):
        organisation.register_clinician("site-a", body, components, OPERATOR, "clin-2")
    organisation.register_clinician("site-b", body, components, OPERATOR, "clin-3")

    assert [c["_id"] for c in organisation.list_clinicians("site-a", components, OPERATOR)] == [
        "clin-1"
    ]
    registered = [e.data for e in components.repositories.clinicians.events]
    assert [(d["clinician_id"], d["site_id"]) for d in registered] == [
        ("clin-1", "site-a"),
        ("clin-3", "site-b"),
    ]
    with pytest.raises(NotFound):
        organisation.list_clinicians("site-a", components, coordinator("site-b"))


def test_a_clinicians_caseload_counts_the_clients_assigned_to_them(clinic):
    def caseloads() -> dict[str, int]:
        listed = organisation.list_clinicians(clinic.site_id, clinic.c, clinic.coordinator)
        return {c["_id"]: c["caseload"] for c in listed}

    assert caseloads() == {clinic.english_only: 0, clinic.bilingual: 0}
    first, second = clinic.receive(), clinic.receive()
    for rid in (first, second):
        clinic.eligible(rid)
        clinic.assign(rid)  # both speak Spanish: the bilingual therapist
    assert caseloads() == {clinic.english_only: 0, clinic.bilingual: 2}

    referrals.withdraw(
        first, {"reason": "client_declined", "note": None}, clinic.c, clinic.coordinator
    )
    assert caseloads() == {clinic.english_only: 0, clinic.bilingual: 1}
