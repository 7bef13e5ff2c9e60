"""The clinic intake's use-case tests run in, on the in-memory wiring (``bootstrap.in_memory``).

No database, broker or HTTP: each test calls the use cases of ``intake.services`` as a view, a
handler or a timer would, with a ``Principal``, and checks what a clinic would notice: what is
stored (and that nobody can read the client's details at rest), which events are recorded, who
is refused and why, what the audit trail says. Here: the client's details, the people who act,
the request bodies, and the ``components`` and ``clinic`` fixtures (a :class:`Clinic`: a site
with an adult program and two therapists), which the ``test_intake_*`` modules import.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date

import pytest

from dbt_shared.auth import Principal
from intake import bootstrap
from intake.bootstrap import Components
from intake.services import organisation, referrals

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
