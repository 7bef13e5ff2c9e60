"""What the demo organisation holds (:mod:`devstack.demo` loads it): every name fictional, every
address under example.org, every phone number in the 555-01xx range."""

from __future__ import annotations

from typing import Any

#: The dev users of the realm ``dbt`` (deploy/local/keycloak/realm-dbt.json): their fixed ids.
OLIVIA, CARLA, FIONA, THEO, OSCAR = (f"0c1e0000-0000-4000-8000-00000000000{c}" for c in "abcde")
ROBIN, SAM = "demo-clinician-robin", "demo-clinician-sam"  # clinicians who never sign in
NORTH, SOUTH = "north", "south"

SITES: dict[str, dict[str, Any]] = {
    NORTH: {
        "name": "Site North (demo)",
        "timezone": "America/Chicago",
        "intake_email": "intake@north.demo.example.org",
        "clinical_lead": {"name": "Dr. Nora Lead (demo)", "email": "lead@north.demo.example.org"},
    },
    SOUTH: {
        "name": "Site South (demo)",
        "timezone": "America/New_York",
        "intake_email": "intake@south.demo.example.org",
        "clinical_lead": {"name": "Dr. Sol Lead (demo)", "email": "lead@south.demo.example.org"},
    },
}
PROGRAMS = {NORTH: ("adult",), SOUTH: ("adult", "adolescent")}  # on the standard settings
CLINICIANS: dict[str, list[dict[str, Any]]] = {
    NORTH: [
        {"subject": THEO, "display_name": "Theo Therapist (demo)", "roles": ["therapist"],
         "languages": ["en", "es"], "caseload_limit": 12},
        {"subject": FIONA, "display_name": "Fiona Facilitator (demo)", "roles": ["facilitator"],
         "languages": ["en"], "caseload_limit": 0},
        {"subject": ROBIN, "display_name": "Robin Rowe (demo)",
         "roles": ["therapist", "facilitator"], "languages": ["en"], "caseload_limit": 10},
    ],
    SOUTH: [
        {"subject": SAM, "display_name": "Sam Southey (demo)",
         "roles": ["therapist", "facilitator"], "languages": ["en"], "caseload_limit": 10},
    ],
}  # fmt: skip
#: The staff directory: (id, name, {site: roles}); operators and ops hold no site roles.
STAFF = (
    (OLIVIA, "Olivia Operator (demo)", {}),
    (CARLA, "Carla Coordinator (demo)", {NORTH: ["coordinator"], SOUTH: ["coordinator"]}),
    (FIONA, "Fiona Facilitator (demo)", {NORTH: ["facilitator"]}),
    (THEO, "Theo Therapist (demo)", {NORTH: ["therapist"]}),
    (OSCAR, "Oscar Ops (demo)", {}),
)
GROUP = {
    "name": "Tuesday evening skills (demo)",
    "weekday": "tue",
    "start_time": "18:00",
    "duration_minutes": 150,
    "room": "Room 1",
}
TUESDAY_EVENINGS = [{"weekday": "tue", "start": "17:00", "end": "21:00"}]
#: (site, given name, family name, date of birth, stage, high-risk screening)
REFERRALS = (
    (NORTH, "Ada", "Demo", "1991-02-03", "received", False),
    (NORTH, "Ben", "Sample", "1987-05-06", "screening", False),
    (NORTH, "Cal", "Example", "1999-08-09", "screening", True),  # the risk banner
    (NORTH, "Dee", "Placeholder", "1984-11-12", "eligible", False),
    (NORTH, "Eli", "Fictional", "1995-01-14", "matched", False),
    (NORTH, "Fay", "Mockup", "1990-03-16", "committed", False),
    (NORTH, "Gus", "Demo", "1993-06-18", "admitted", False),
    (NORTH, "Hal", "Sample", "1989-09-20", "admitted", False),
    (SOUTH, "Ivy", "Example", "2001-04-22", "received", False),
    (SOUTH, "Jon", "Testcase", "1986-07-24", "eligible", False),
)
#: Coaching hours (site local time) and the weekly rota: Saturday is in the hours but nobody is
#: on call then, so the coverage pages and the overview show a gap to fill.
HOURS = [
    *(
        {"weekday": d, "start": "17:00", "end": "21:00"}
        for d in ("mon", "tue", "wed", "thu", "fri")
    ),
    {"weekday": "sat", "start": "10:00", "end": "14:00"},
]
ROTA = {"primary": {"mon": THEO, "wed": THEO, "fri": THEO, "tue": ROBIN, "thu": ROBIN},
        "backup": {"mon": ROBIN, "wed": ROBIN, "fri": ROBIN, "tue": THEO, "thu": THEO}}  # fmt: skip
