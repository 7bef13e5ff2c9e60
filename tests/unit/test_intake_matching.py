"""Matching a referral to an individual therapist, and saying why when nobody fits."""

from __future__ import annotations

import pytest

from intake.domain.matching import Candidate, explain_no_match, match_therapist


def therapist(
    clinician_id: str,
    *,
    caseload: int = 3,
    limit: int = 10,
    programs: tuple[str, ...] = ("adult",),
    languages: tuple[str, ...] = ("en",),
    roles: tuple[str, ...] = ("therapist",),
    active: bool = True,
) -> Candidate:
    return Candidate(
        clinician_id=clinician_id,
        display_name=f"Dr {clinician_id}",
        roles=roles,
        programs=programs,
        languages=languages,
        caseload=caseload,
        caseload_limit=limit,
        active=active,
    )


def test_the_least_loaded_therapist_is_chosen_and_the_reasons_say_why():
    staff = [
        therapist("a", caseload=6, limit=10),
        therapist("b", caseload=3, limit=10),
        therapist("c", caseload=5, limit=10),
        therapist("d", caseload=4, limit=8),
    ]
    result = match_therapist(staff, program="adult", language=None)
    assert result is not None
    assert result.clinician_id == "b"
    assert result.reasons == [
        "treats adult program",
        "caseload 3 of 10 (least loaded of 4 eligible)",
    ]


def test_load_is_judged_by_share_of_the_limit_then_by_free_places():
    # 4 of 8 is half full, like 6 of 12; the one with more free places is chosen.
    staff = [
        therapist("half-of-8", caseload=4, limit=8),
        therapist("half-of-12", caseload=6, limit=12),
    ]
    assert match_therapist(staff, program="adult", language=None).clinician_id == "half-of-12"
    # A smaller share wins even with fewer free places.
    staff = [therapist("a", caseload=1, limit=4), therapist("b", caseload=4, limit=10)]
    assert match_therapist(staff, program="adult", language=None).clinician_id == "a"


def test_equal_load_is_broken_by_clinician_id_so_the_answer_is_stable():
    staff = [therapist("zed"), therapist("amy"), therapist("kim")]
    assert match_therapist(staff, program="adult", language=None).clinician_id == "amy"
    assert match_therapist(staff[::-1], program="adult", language=None).clinician_id == "amy"


def test_the_clients_preferred_therapist_wins_when_they_have_room():
    staff = [therapist("busy", caseload=8), therapist("free", caseload=1)]
    result = match_therapist(staff, program="adult", language=None, preferred_clinician_id="busy")
    assert result.clinician_id == "busy"
    assert result.reasons[0] == "client's preferred therapist"


def test_the_preferred_therapist_at_capacity_loses_and_the_reason_says_so():
    staff = [therapist("full", caseload=10, limit=10), therapist("free", caseload=1)]
    result = match_therapist(staff, program="adult", language=None, preferred_clinician_id="full")
    assert result.clinician_id == "free"
    assert "client's preferred therapist Dr full is at the caseload limit (10 of 10)" in (
        result.reasons
    )


def test_a_preferred_therapist_who_does_not_speak_the_clients_language_is_not_chosen():
    staff = [therapist("en-only"), therapist("bilingual", caseload=7, languages=("en", "es"))]
    result = match_therapist(
        staff, program="adult", language="es", preferred_clinician_id="en-only"
    )
    assert result.clinician_id == "bilingual"
    assert "speaks es" in result.reasons
    assert "client's preferred therapist Dr en-only does not speak es" in result.reasons


def test_spanish_speaking_client_with_no_spanish_speaking_therapist_gets_no_match_and_a_reason():
    staff = [therapist("a"), therapist("b", languages=("en", "fr"))]
    assert match_therapist(staff, program="adult", language="es") is None
    assert explain_no_match(staff, "adult", "es") == ["no therapist speaks es"]


def test_a_spanish_speaker_in_another_program_does_not_count():
    staff = [
        therapist("adult-en"),
        therapist("teen-es", programs=("adolescent",), languages=("es",)),
    ]
    assert match_therapist(staff, program="adult", language="es") is None
    assert explain_no_match(staff, "adult", "es") == ["no therapist of the adult program speaks es"]


def test_language_codes_match_by_primary_language():
    staff = [therapist("a", languages=("ES",))]
    assert match_therapist(staff, program="adult", language="es-MX").clinician_id == "a"


def test_inactive_staff_facilitators_and_other_programs_are_never_matched():
    staff = [
        therapist("left", active=False, caseload=0),
        therapist("trainer", roles=("facilitator",), caseload=0),
        therapist("teens", programs=("adolescent",), caseload=0),
        therapist("ok", caseload=9),
    ]
    result = match_therapist(staff, program="adult", language=None)
    assert result.clinician_id == "ok"
    assert "caseload 9 of 10 (the only eligible therapist)" in result.reasons


def test_when_everyone_is_full_the_reason_counts_them():
    staff = [therapist(c, caseload=10, limit=10) for c in ("a", "b", "c")]
    assert match_therapist(staff, program="adult", language=None) is None
    assert explain_no_match(staff, "adult", None) == [
        "all 3 therapists of the adult program are at their caseload limit"
    ]


def test_when_the_only_speaker_is_full_the_reason_says_so():
    staff = [therapist("a"), therapist("b", caseload=10, languages=("es",))]
    assert explain_no_match(staff, "adult", "es") == [
        "the only es-speaking therapist of the adult program is at their caseload limit"
    ]


def test_no_therapist_for_the_program_or_none_at_all():
    staff = [therapist("a")]
    assert explain_no_match(staff, "adolescent", None) == [
        "no active therapist treats the adolescent program"
    ]
    assert explain_no_match([], "adult", None) == ["no active therapist is on file at this site"]


def test_nothing_to_explain_when_someone_fits():
    assert explain_no_match([therapist("a")], "adult", "en") == []


def test_an_unknown_program_is_refused():
    with pytest.raises(ValueError, match="program"):
        match_therapist([therapist("a")], program="child", language=None)


def test_candidates_built_from_lists_stay_immutable():
    candidate = Candidate("a", "Dr A", ["therapist"], ["adult"], ["en"], 0, 5, True)
    assert candidate.roles == ("therapist",)
    assert candidate.languages == ("en",)
