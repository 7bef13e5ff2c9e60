"""Choosing an individual therapist for a referral, with the reasons a coordinator can read.

Only active therapists who treat the referral's program, have a free place on their caseload
and, when the client asks for a language, speak it, are eligible. A language the client needs is
never dropped to find someone: with no speaker there is no match, and `explain_no_match` says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

from intake.domain.programs import PROGRAM_KINDS

THERAPIST = "therapist"


@dataclass(frozen=True)
class Candidate:
    clinician_id: str
    display_name: str
    roles: tuple[str, ...]
    programs: tuple[str, ...]  # "adult" and/or "adolescent"
    languages: tuple[str, ...]  # codes such as "en", "es"
    caseload: int  # clients carried now
    caseload_limit: int
    active: bool

    def __post_init__(self) -> None:
        # Callers often hold lists (a JSON document); keep the candidate immutable regardless.
        for name in ("roles", "programs", "languages"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if self.caseload < 0 or self.caseload_limit < 0:
            raise ValueError(f"{self.clinician_id}: caseload and its limit cannot be negative")

    @property
    def free_places(self) -> int:
        return max(0, self.caseload_limit - self.caseload)

    def speaks(self, language: str) -> bool:
        wanted = _language(language)
        return any(_language(spoken) == wanted for spoken in self.languages)


@dataclass(frozen=True)
class MatchResult:
    clinician_id: str
    reasons: list[str]


def _language(code: str) -> str:
    """The primary language of a code: "es-MX" and "ES" are both "es"."""
    return code.strip().replace("_", "-").split("-")[0].lower()


def _check_program(program: str) -> None:
    if program not in PROGRAM_KINDS:
        raise ValueError(f"program is one of {', '.join(PROGRAM_KINDS)}, got {program!r}")


def _active_therapists(candidates: Iterable[Candidate]) -> list[Candidate]:
    return [c for c in candidates if c.active and THERAPIST in c.roles]


def _fits(candidate: Candidate, program: str, language: str | None) -> bool:
    return (
        candidate.active
        and THERAPIST in candidate.roles
        and program in candidate.programs
        and candidate.caseload < candidate.caseload_limit
        and (language is None or candidate.speaks(language))
    )


def _load_order(candidate: Candidate) -> tuple[Fraction, int, str]:
    # Least loaded by share of the limit, then the most free places, then id for a stable pick.
    share = Fraction(candidate.caseload, candidate.caseload_limit)
    return (share, -candidate.free_places, candidate.clinician_id)


def _why_not(candidate: Candidate, program: str, language: str | None) -> str:
    if not candidate.active:
        return "is not active"
    if THERAPIST not in candidate.roles:
        return "is not an individual therapist"
    if program not in candidate.programs:
        return f"does not treat the {program} program"
    if language is not None and not candidate.speaks(language):
        return f"does not speak {language}"
    return f"is at the caseload limit ({candidate.caseload} of {candidate.caseload_limit})"


def match_therapist(
    candidates: Iterable[Candidate],
    *,
    program: str,
    language: str | None,
    preferred_clinician_id: str | None = None,
) -> MatchResult | None:
    """The therapist to assign, or None when nobody fits (see `explain_no_match`).

    The client's preferred therapist wins when eligible. Otherwise the least loaded eligible
    therapist is chosen: lowest caseload share of the limit, then most free places, then
    clinician id so the same inputs always give the same answer.
    """
    _check_program(program)
    candidates = list(candidates)
    eligible = [c for c in candidates if _fits(c, program, language)]
    if not eligible:
        return None

    shared = [f"treats {program} program"]
    if language is not None:
        shared.append(f"speaks {language}")

    preferred = None
    preference_note = None
    if preferred_clinician_id is not None:
        preferred = next((c for c in candidates if c.clinician_id == preferred_clinician_id), None)
        if preferred is None:
            preference_note = (
                f"client's preferred therapist {preferred_clinician_id} is not among the "
                "clinicians considered"
            )
        elif preferred in eligible:
            return MatchResult(
                clinician_id=preferred.clinician_id,
                reasons=[
                    "client's preferred therapist",
                    *shared,
                    f"caseload {preferred.caseload} of {preferred.caseload_limit}",
                ],
            )
        else:
            preference_note = (
                f"client's preferred therapist {preferred.display_name} "
                f"{_why_not(preferred, program, language)}"
            )

    chosen = min(eligible, key=_load_order)
    load = f"caseload {chosen.caseload} of {chosen.caseload_limit}"
    if len(eligible) == 1:
        load += " (the only eligible therapist)"
    else:
        load += f" (least loaded of {len(eligible)} eligible)"
    reasons = [*shared, load]
    if preference_note:
        reasons.append(preference_note)
    return MatchResult(clinician_id=chosen.clinician_id, reasons=reasons)


def _therapists_phrase(count: int, program: str, language: str | None) -> str:
    speaking = f"{language}-speaking " if language is not None else ""
    if count == 1:
        return f"the only {speaking}therapist of the {program} program is"
    return f"all {count} {speaking}therapists of the {program} program are"


def explain_no_match(
    candidates: Iterable[Candidate], program: str, language: str | None = None
) -> list[str]:
    """Why no therapist fits, in plain words; [] when someone does."""
    _check_program(program)
    candidates = list(candidates)
    if any(_fits(c, program, language) for c in candidates):
        return []

    therapists = _active_therapists(candidates)
    if not therapists:
        return ["no active therapist is on file at this site"]
    in_program = [c for c in therapists if program in c.programs]
    if not in_program:
        return [f"no active therapist treats the {program} program"]

    reasons = []
    if language is not None:
        speakers = [c for c in in_program if c.speaks(language)]
        if not speakers:
            if any(c.speaks(language) for c in therapists):
                reasons.append(f"no therapist of the {program} program speaks {language}")
            else:
                reasons.append(f"no therapist speaks {language}")
            if all(c.free_places == 0 for c in in_program):
                phrase = _therapists_phrase(len(in_program), program, None)
                reasons.append(f"{phrase} at their caseload limit")
            return reasons
        in_program = speakers
    phrase = _therapists_phrase(len(in_program), program, language)
    return [f"{phrase} at their caseload limit"]
