"""Intake's use cases, called directly on the in-memory wiring (``bootstrap.in_memory``).

No database, broker or HTTP: each test calls the use cases of ``intake.services`` as a view, a
handler or a timer would, with a ``Principal``, and checks what a clinic would notice: what is
stored (and that nobody can read the client's details at rest), which events are recorded, who
is refused and why, what the audit trail says.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from dbt_shared.auth import Principal
from dbt_shared.contracts import intake as contract
from dbt_shared.errors import Conflict, InvalidInput, NotFound, StaleWrite
from intake import bootstrap
from intake.bootstrap import Components
from intake.domain.pipeline import WAITING_STAGES
from intake.services import organisation, oversight, referrals

LOW_RISK = {
    "cssrs": [False] * 6,
    "phq9": [1, 1, 1, 1, 0, 1, 0, 0, 0],
    "gad7": [1, 1, 0, 0, 1, 0, 0],
    "ders16_total": 40,
    "bsl23_mean": 0.8,
}
HIGH_RISK = {**LOW_RISK, "cssrs": [True, True, True, True, False, False], "phq9": [2] * 8 + [1]}
SELF_HARM_THOUGHTS_ONLY = {**LOW_RISK, "phq9": [0] * 8 + [1]}
AGREED = {"all_modes": True, "four_miss_rule": True, "consent_to_treatment": True}
TUESDAY_EVENINGS = [{"weekday": "tue", "start": "17:00", "end": "21:00"}]
NO_PREFERENCE = {"clinician_id": None, "preferred_clinician_id": None, "language": None}

# What the client told the clinic, none of which may be readable at rest or in an event.
GIVEN, FAMILY, EMAIL, PHONE, BORN = (
    "Marisol",
    "Quintanilla",
    "marisol.q@example.org",
    "+13125550147",  # intake stores numbers in E.164 (the spelling a STOP's From has)
    date(1991, 7, 4),
)
SECRETS = (GIVEN, FAMILY, EMAIL, PHONE, BORN.isoformat())

OPERATOR = Principal(subject="op", roles=frozenset({"operator"}), sites=frozenset())
NOTIFICATIONS = Principal.service("notifications")

_ids = itertools.count(1)


def new_id(kind: str = "id") -> str:
    """Ids that sort in the order they are made (lists and pages are in id order)."""
    return f"{kind}-{next(_ids):06d}"


def coordinator(*sites: str, subject: str = "coord") -> Principal:
    return Principal(subject=subject, roles=frozenset({"coordinator"}), sites=frozenset(sites))


def therapist(site_id: str, subject: str) -> Principal:
    return Principal(subject=subject, roles=frozenset({"therapist"}), sites=frozenset({site_id}))


def page_args(**filters) -> dict:
    return {"limit": 50, "cursor": None, **filters}


def site_body(name: str = "Riverside Clinic", timezone: str = "America/Chicago") -> dict:
    return {
        "name": name,
        "timezone": timezone,
        "intake_email": "intake@riverside.example.org",
        "clinical_lead": {"name": "Dr. Lee", "email": "lead@riverside.example.org", "phone": None},
    }


def clinician_body(subject: str, languages: list[str], caseload_limit: int = 10) -> dict:
    return {
        "subject": subject,
        "display_name": f"Therapist {subject}",
        "roles": ["therapist"],
        "programs": ["adult"],
        "languages": languages,
        "caseload_limit": caseload_limit,
    }


def referral_body(site_id: str, program: str = "adult", language: str = "es") -> dict:
    return {
        "site_id": site_id,
        "program": program,
        "source": "GP",
        "consent_to_contact": True,
        "client": {
            "given_name": GIVEN,
            "family_name": FAMILY,
            "date_of_birth": BORN,
            "email": EMAIL,
            "phone": PHONE,
            "preferred_channel": "sms",
            "language": language,
        },
    }


def events_of(c: Components, type_: str) -> list:
    return [e for e in c.repositories.referrals.events if e.type == type_]


@dataclass
class Clinic:
    """A site with an adult program and two therapists, and the coordinator who runs intake."""

    c: Components
    site_id: str
    coordinator: Principal
    english_only: str
    bilingual: str

    def receive(self, **overrides) -> str:
        shown, _ = referrals.receive(
            referral_body(self.site_id, **overrides), self.c, self.coordinator, new_id("referral")
        )
        return shown["_id"]

    def screen(self, referral_id: str, answers: dict = LOW_RISK) -> dict:
        return referrals.record_screening(
            referral_id, answers, self.c, self.coordinator, new_id("screening")
        )

    def eligible(self, referral_id: str) -> dict:
        self.screen(referral_id)
        return referrals.decide_eligibility(
            referral_id,
            {"decision": "eligible", "reason": "Meets criteria."},
            self.c,
            self.coordinator,
        )

    def committed(self, referral_id: str) -> dict:
        self.eligible(referral_id)
        referrals.start_orientation(referral_id, self.c, self.coordinator)
        return referrals.record_commitment(
            referral_id, {"orientation_sessions": 2, **AGREED}, self.c, self.coordinator
        )

    def assign(self, referral_id: str, **body) -> dict:
        return referrals.assign_therapist(
            referral_id, {**NO_PREFERENCE, **body}, self.c, self.coordinator
        )

    def status(self, referral_id: str) -> str:
        return self.c.repositories.referral(referral_id).status


@pytest.fixture
def components(clock) -> Components:
    return bootstrap.in_memory(clock)


@pytest.fixture
def clinic(components) -> Clinic:
    site = organisation.register_site(site_body(), components, new_id("site"))
    organisation.create_program(
        site["_id"], {"kind": "adult", "settings": {}}, components, OPERATOR
    )
    ids = [
        organisation.register_clinician(
            site["_id"], clinician_body(subject, languages), components, OPERATOR, new_id("clin")
        )["_id"]
        for subject, languages in (("idp|en-only", ["en"]), ("idp|bilingual", ["en", "es"]))
    ]
    return Clinic(components, site["_id"], coordinator(site["_id"]), *ids)


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


# -- receipt -----------------------------------------------------------------------------------
def test_a_received_referral_keeps_the_client_details_unreadable_at_rest(clinic):
    shown, created = referrals.receive(
        referral_body(clinic.site_id), clinic.c, clinic.coordinator, "referral-1"
    )

    assert created is True and shown["status"] == "received"
    assert shown["client"]["given_name"] == GIVEN and shown["client"]["email"] == EMAIL
    assert shown["client"]["date_of_birth"] == BORN.isoformat()
    assert shown["allowed_actions"] == ["record_screening", "withdraw"]
    stored = clinic.c.repositories.referrals.documents["referral-1"]
    dump = json.dumps(stored, default=str)
    for secret in SECRETS:
        assert secret not in dump, f"{secret} readable in the stored referral"
    assert stored["client"]["email"].startswith("enc:v1:")


def test_the_received_event_carries_ids_only(clinic):
    rid = clinic.receive()

    (received,) = events_of(clinic.c, contract.REFERRAL_RECEIVED)
    assert received.key == rid and received.subject == f"referrals/{rid}"
    assert set(received.data) == {"referral_id", "site_id", "program", "received_at"}
    assert received.data["referral_id"] == rid and received.data["site_id"] == clinic.site_id
    dump = json.dumps([e.data for e in clinic.c.repositories.referrals.events], default=str)
    assert not [secret for secret in SECRETS if secret in dump]


def test_receiving_and_reading_a_referral_is_audited(clinic):
    rid = clinic.receive()
    referrals.read(rid, clinic.c, clinic.coordinator)

    trail = [e for e in clinic.c.repositories.audit.entries if e["object_id"] == rid]
    assert sorted(e["action"] for e in trail) == ["referral.create", "referral.read"]
    assert all(e["actor"] == "coord" and e["site_id"] == clinic.site_id for e in trail)
    assert all(e["object_type"] == "referral" for e in trail)
    assert not [secret for secret in SECRETS if secret in json.dumps(trail, default=str)]


def test_a_retried_referral_is_recorded_once(clinic):
    body = referral_body(clinic.site_id)
    referrals.receive(body, clinic.c, clinic.coordinator, "referral-1")

    again, created = referrals.receive(body, clinic.c, clinic.coordinator, "referral-1")

    assert created is False and again["_id"] == "referral-1"
    assert list(clinic.c.repositories.referrals.documents) == ["referral-1"]
    assert len(events_of(clinic.c, contract.REFERRAL_RECEIVED)) == 1
    assert "referral.create_replayed" in clinic.c.repositories.audit.actions()


def test_a_referral_for_another_or_an_unknown_site_is_refused(clinic):
    with pytest.raises(NotFound):
        referrals.receive(
            referral_body(clinic.site_id), clinic.c, coordinator("elsewhere"), new_id()
        )
    with pytest.raises(InvalidInput) as unknown:
        referrals.receive(referral_body("no-such-site"), clinic.c, OPERATOR, new_id())
    assert [e["field"] for e in unknown.value.field_errors] == ["site_id"]
    assert clinic.c.repositories.referrals.documents == {}


# -- the pipeline ------------------------------------------------------------------------------
def test_a_referral_goes_from_receipt_to_admission(clinic):
    rid = clinic.receive()

    screened = clinic.screen(rid)
    assert (screened["phq9_total"], screened["phq9_band"]) == (5, "mild")
    assert (screened["gad7_total"], screened["gad7_band"]) == (3, "minimal")
    assert screened["bsl23_band"] == "moderate" and screened["ders16_total"] == 40
    assert screened["risk_level"] == "low" and screened["needs_immediate_response"] is False
    assert screened["safety_resources"] == [] and screened["referral_status"] == "screening"
    assert "answers" not in screened

    decided = referrals.decide_eligibility(
        rid, {"decision": "eligible", "reason": "Meets criteria."}, clinic.c, clinic.coordinator
    )
    assert decided["status"] == "eligible" and decided["eligibility"]["reason"] == "Meets criteria."
    oriented = referrals.start_orientation(rid, clinic.c, clinic.coordinator)
    assert oriented["status"] == "orientation"
    committed = referrals.record_commitment(
        rid, {"orientation_sessions": 2, **AGREED}, clinic.c, clinic.coordinator
    )
    assert committed["status"] == "committed" and committed["commitment"]["recorded_by"] == "coord"
    matched = clinic.assign(rid)
    assert matched["therapist"]["clinician_id"] == clinic.bilingual, "the client speaks Spanish"
    assert matched["therapist"]["method"] == "matched"
    assert "speaks es" in matched["therapist"]["reasons"]

    admitted = referrals.admit(
        rid, {"availability": TUESDAY_EVENINGS}, clinic.c, clinic.coordinator
    )

    assert admitted["status"] == "admitted" and admitted["allowed_actions"] == []
    assert [h["status"] for h in admitted["history"]] == [
        "received",
        "screening",
        "eligible",
        "orientation",
        "committed",
        "admitted",
    ]
    (event,) = events_of(clinic.c, contract.CLIENT_ADMITTED)
    assert event.data == {
        "referral_id": rid,
        "site_id": clinic.site_id,
        "client_id": rid,
        "program_id": f"{clinic.site_id}:adult",
        "program": "adult",
        "therapist_id": clinic.bilingual,
        "availability": TUESDAY_EVENINGS,
        "admitted_at": clinic.c.clock.now().isoformat(),
    }
    assert [e.type for e in clinic.c.repositories.referrals.events] == [
        contract.REFERRAL_RECEIVED,
        contract.SCREENING_COMPLETED,
        contract.THERAPIST_ASSIGNED,
        contract.CLIENT_ADMITTED,
    ]
    stored = json.dumps(clinic.c.repositories.referrals.documents[rid], default=str)
    assert "Meets criteria." not in stored, "the eligibility reason is sealed at rest"


def test_a_high_risk_screening_flags_the_risk_and_shows_crisis_resources(clinic):
    rid = clinic.receive()

    result = clinic.screen(rid, HIGH_RISK)

    assert result["risk_level"] == "high" and result["needs_immediate_response"] is True
    assert result["cssrs_risk"] == "high" and result["phq9_self_harm_thoughts"] is True
    assert result["flags"] == ["cssrs_high", "phq9_self_harm_thoughts"]
    assert any("988" in resource["contact"] for resource in result["safety_resources"])
    (flagged,) = events_of(clinic.c, contract.RISK_FLAGGED)
    assert flagged.data["screening_id"] == result["id"] and flagged.data["level"] == "high"
    assert set(flagged.data) == {"referral_id", "site_id", "screening_id", "level", "flagged_at"}
    (stored,) = clinic.c.repositories.referrals.documents[rid]["screenings"]
    assert stored["answers"].startswith("enc:v1:"), "the answers are sealed at rest"
    (shown,) = referrals.read(rid, clinic.c, clinic.coordinator)["screenings"]
    assert "answers" not in shown and shown["risk_level"] == "high"


def test_self_harm_thoughts_show_crisis_resources_without_an_immediate_alert(clinic):
    rid = clinic.receive()

    result = clinic.screen(rid, SELF_HARM_THOUGHTS_ONLY)

    assert result["risk_level"] == "moderate" and result["needs_immediate_response"] is False
    assert result["safety_resources"], "a crisis line is shown for self-harm thoughts"
    assert events_of(clinic.c, contract.RISK_FLAGGED) == []
    assert len(events_of(clinic.c, contract.SCREENING_COMPLETED)) == 1


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ({"orientation_sessions": 2, **AGREED, "four_miss_rule": False}, ["four_miss_rule"]),
        ({"orientation_sessions": 0, **AGREED}, ["orientation_sessions"]),
        (
            {
                "orientation_sessions": 1,
                "all_modes": False,
                "four_miss_rule": True,
                "consent_to_treatment": False,
            },
            ["all_modes", "consent_to_treatment"],
        ),
    ],
)
def test_an_incomplete_commitment_names_what_is_missing_and_changes_nothing(clinic, given, missing):
    rid = clinic.receive()
    clinic.eligible(rid)
    referrals.start_orientation(rid, clinic.c, clinic.coordinator)

    with pytest.raises(InvalidInput) as refused:
        referrals.record_commitment(rid, given, clinic.c, clinic.coordinator)

    assert [e["field"] for e in refused.value.field_errors] == missing
    assert refused.value.problem_kind == "commitment-incomplete"
    stored = clinic.c.repositories.referral(rid)
    assert stored.status == "orientation" and "commitment" not in stored.state


def test_admission_is_blocked_until_a_therapist_is_assigned(clinic):
    rid = clinic.receive()
    clinic.committed(rid)

    with pytest.raises(Conflict) as blocked:
        referrals.admit(rid, {"availability": TUESDAY_EVENINGS}, clinic.c, clinic.coordinator)

    assert blocked.value.members["reasons"] == ["no therapist is assigned"]
    assert blocked.value.problem_kind == "admission-blocked"
    assert clinic.status(rid) == "committed"
    assert events_of(clinic.c, contract.CLIENT_ADMITTED) == []


def test_admission_needs_the_program_to_be_configured(clinic):
    rid = clinic.receive(program="adolescent")  # the site runs no adolescent program
    clinic.committed(rid)
    referrals.assign_therapist(
        rid, {**NO_PREFERENCE, "clinician_id": clinic.bilingual}, clinic.c, clinic.coordinator
    )

    with pytest.raises(Conflict, match="no adolescent program"):
        referrals.admit(rid, {"availability": TUESDAY_EVENINGS}, clinic.c, clinic.coordinator)
    assert clinic.status(rid) == "committed"


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


@pytest.mark.parametrize(
    ("step", "action"),
    [
        (
            lambda cl, rid: referrals.start_orientation(rid, cl.c, cl.coordinator),
            "start_orientation",
        ),
        (
            lambda cl, rid: referrals.admit(
                rid, {"availability": TUESDAY_EVENINGS}, cl.c, cl.coordinator
            ),
            "admit",
        ),
        (
            lambda cl, rid: referrals.decide_eligibility(
                rid, {"decision": "eligible", "reason": "x"}, cl.c, cl.coordinator
            ),
            "decide_eligibility",
        ),
        (
            lambda cl, rid: referrals.record_commitment(
                rid, {"orientation_sessions": 2, **AGREED}, cl.c, cl.coordinator
            ),
            "record_commitment",
        ),
        (lambda cl, rid: cl.assign(rid), "assign_therapist"),
    ],
    ids=["orientation", "admit", "eligibility", "commitment", "therapist"],
)
def test_a_step_out_of_order_is_a_conflict_naming_the_status_and_the_step(clinic, step, action):
    rid = clinic.receive()

    with pytest.raises(Conflict) as refused:
        step(clinic, rid)

    assert refused.value.members == {"current_status": "received", "action": action}
    assert refused.value.problem_kind == "illegal-transition"
    stored = clinic.c.repositories.referral(rid)
    assert stored.status == "received" and len(stored.state["history"]) == 1
    assert len(clinic.c.repositories.referrals.events) == 1  # only its receipt


def test_a_withdrawal_records_the_reason_and_ends_the_path(clinic):
    rid = clinic.receive()
    clinic.eligible(rid)

    withdrawn = referrals.withdraw(
        rid, {"reason": "moved_away", "note": "Moving to Ohio."}, clinic.c, clinic.coordinator
    )

    assert withdrawn["status"] == "withdrawn" and withdrawn["allowed_actions"] == []
    assert withdrawn["withdrawal"]["note"] == "Moving to Ohio."
    assert withdrawn["withdrawal"]["from_status"] == "eligible"
    (event,) = events_of(clinic.c, contract.REFERRAL_WITHDRAWN)
    assert event.data["reason"] == "moved_away" and event.data["from_status"] == "eligible"
    stored = json.dumps(clinic.c.repositories.referrals.documents[rid], default=str)
    assert "Ohio" not in stored and "Ohio" not in json.dumps(event.data)
    with pytest.raises(Conflict) as again:
        referrals.withdraw(rid, {"reason": "other", "note": None}, clinic.c, clinic.coordinator)
    assert again.value.members == {"current_status": "withdrawn", "action": "withdraw"}


def test_an_admitted_client_cannot_be_withdrawn(clinic):
    rid = clinic.receive()
    clinic.committed(rid)
    clinic.assign(rid)
    referrals.admit(rid, {"availability": TUESDAY_EVENINGS}, clinic.c, clinic.coordinator)

    with pytest.raises(Conflict) as refused:
        referrals.withdraw(rid, {"reason": "other", "note": None}, clinic.c, clinic.coordinator)

    assert refused.value.members == {"current_status": "admitted", "action": "withdraw"}
    assert clinic.status(rid) == "admitted"


def test_a_contact_correction_changes_only_the_fields_sent(clinic):
    rid = clinic.receive()

    corrected = referrals.correct_contact(
        rid, {"client": {"phone": "+1 312 555 0199"}}, clinic.c, clinic.coordinator
    )

    assert corrected["client"]["phone"] == "+13125550199"  # stored in E.164
    assert corrected["client"]["email"] == EMAIL and corrected["client"]["given_name"] == GIVEN
    stored = clinic.c.repositories.referrals.documents[rid]["client"]
    assert stored["phone"].startswith("enc:v1:") and "0199" not in json.dumps(stored)
    assert "referral.update_contact" in clinic.c.repositories.audit.actions()


def test_a_withdrawn_referrals_contact_details_cannot_be_changed(clinic):
    rid = clinic.receive()
    referrals.withdraw(rid, {"reason": "other", "note": None}, clinic.c, clinic.coordinator)

    with pytest.raises(Conflict):
        referrals.correct_contact(
            rid, {"client": {"phone": "+1 312 555 0199"}}, clinic.c, clinic.coordinator
        )

    assert referrals.read(rid, clinic.c, clinic.coordinator)["client"]["phone"] == PHONE


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
