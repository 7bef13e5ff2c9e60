"""The demo organisation: what a newcomer signs in to after the first ``make run``.

Two sites, their programs, clinicians, the dev users' roles in the staff directory, a skills
group at Site North led by fiona, referrals at each stage of the pipeline (two admitted into the
group), coaching hours and an on-call rota with theo on it and one deliberate gap (Saturdays),
and the admitted clients' diary cards, goals and alliance check-ins (:mod:`devstack.demo_clients`).

Everything goes through the services' own HTTP APIs, with dev-key tokens (the dev and test
profiles take a dev-key token's sites from the token), never into a database: field encryption,
events, audit records and the other services' read models are the real ones. Every step looks
for its natural key first (a site's name, a program's kind, a clinician's subject, a group's name,
a client's name at the site), so a second load, or one after a load that stopped half-way,
adds nothing twice and finishes what is missing. The services pick the ids (sites included).

``python -m devstack demo [--profile dev|test]`` (``make demo``) loads it into a running stack;
``make run``/``make up`` load it once into an empty dev stack (:func:`load_on_first_start`).
All names are fictional; addresses are under example.org, phone numbers in the 555-01xx range.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from . import demo_clients
from .demo_data import (
    CLINICIANS,
    FIONA,
    GROUP,
    HOURS,
    NORTH,
    PROGRAMS,
    REFERRALS,
    ROBIN,
    ROTA,
    SITES,
    SOUTH,
    STAFF,
    THEO,
    TUESDAY_EVENINGS,
)
from .profile import Profile
from .tokens import mint_token

#: Who the demo's writes are by, on every service's audit trail.
LOADER = "devstack-demo"
#: Statuses a demo referral passes, in order; ``matched`` is orientation with a therapist.
STAGES = ("received", "screening", "eligible", "orientation", "matched", "committed", "admitted")
#: A load that finds nothing to do makes only reads (2 s); one from nothing took 15 s here.
DEFAULT_TIMEOUT = 180.0


class DemoError(RuntimeError):
    """A service refused a step of the demo (its problem detail, never a client's data)."""


@dataclass
class Api:
    """The services' HTTP APIs with the loader's dev-key tokens, retrying what another service
    has not learned yet until the deadline."""

    profile: Profile
    timeout: float = DEFAULT_TIMEOUT
    made: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.http = requests.Session()
        self.deadline = time.monotonic() + self.timeout
        self.operator = mint_token(["operator"], [], LOADER)
        self.coordinator = ""  # once the sites exist: coordinator at both

    def call(
        self,
        method: str,
        service: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        wait: tuple[int, ...] = (),
        key: str | None = None,
    ) -> Any:
        headers = {"Authorization": f"Bearer {token or self.operator}"}
        if key:  # a creating POST retried after a lost answer creates once
            headers["Idempotency-Key"] = f"{LOADER}/{key}"
        url = self.profile.api_url(service) + path
        while True:
            answer = self.http.request(method, url, json=body, headers=headers, timeout=30)
            if answer.status_code < 300:
                return answer.json() if answer.content else None
            if answer.status_code in wait and time.monotonic() < self.deadline:
                time.sleep(0.25)
                continue
            try:
                problem = answer.json()
            except ValueError:
                problem = answer.text[:300]
            raise DemoError(f"{method} {service} {path.split('?')[0]}: {answer.status_code} "
                            f"{json.dumps(problem)[:600]}")  # fmt: skip

    def count(self, what: str) -> None:
        self.made[what] = self.made.get(what, 0) + 1


def _pages(api: Api, service: str, path: str, token: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        more = f"&cursor={quote(cursor, safe='')}" if cursor else ""
        page = api.call("GET", service, path + more, token=token)
        items += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return items


def find_sites(api: Api) -> dict[str, str]:
    """The demo's sites that exist: ``{"north": <site id>, ...}`` (by name)."""
    names = {spec["name"]: key for key, spec in SITES.items()}
    return {
        names[s["name"]]: s["id"]
        for s in _pages(api, "intake", "/v1/sites?limit=200", api.operator)
        if s["name"] in names
    }


def _sites(api: Api) -> dict[str, str]:
    found = find_sites(api)
    for key, spec in SITES.items():
        if key not in found:
            found[key] = api.call("POST", "intake", "/v1/sites", spec, key=f"site/{key}")["id"]
            api.count("sites")
    api.coordinator = mint_token(["coordinator"], [found[NORTH], found[SOUTH]], LOADER)
    return found


def _programs(api: Api, sites: dict[str, str]) -> dict[str, str]:
    """``{"north": <its adult program id>, ...}``; each program kind of a site made once."""
    adult = {}
    for key, kinds in PROGRAMS.items():
        path = f"/v1/sites/{sites[key]}/programs"
        have = {p["kind"]: p["id"] for p in api.call("GET", "intake", path)["items"]}
        for kind in kinds:
            if kind not in have:
                have[kind] = api.call("POST", "intake", path, {"kind": kind})["id"]
                api.count("programs")
        adult[key] = have["adult"]
    return adult


def _clinicians(api: Api, sites: dict[str, str]) -> dict[str, str]:
    """``{subject: clinician id}`` of the demo's clinicians (a subject at one site each)."""
    ids = {}
    for key, specs in CLINICIANS.items():
        path = f"/v1/sites/{sites[key]}/clinicians"
        have = {c["subject"]: c["id"] for c in api.call("GET", "intake", path)["items"]}
        for spec in specs:
            if spec["subject"] not in have:
                body = {**spec, "programs": ["adult"], "email": _email(spec["display_name"])}
                have[spec["subject"]] = api.call("POST", "intake", path, body)["id"]
                api.count("clinicians")
            ids[spec["subject"]] = have[spec["subject"]]
    return ids


def _email(name: str) -> str:
    return name.split()[0].lower() + "@staff.demo.example.org"


def _staff(api: Api, sites: dict[str, str]) -> None:
    """The dev users' roles at each site; an entry already so is left alone (no new version)."""
    for staff_id, name, roles in STAFF:
        memberships = [{"site_id": sites[k], "roles": r} for k, r in roles.items()]
        try:
            current = api.call("GET", "intake", f"/v1/staff/{staff_id}")
        except DemoError as exc:
            if ": 404 " not in str(exc):
                raise
            current = None
        wanted = {(m["site_id"], tuple(sorted(m["roles"]))) for m in memberships}
        if (
            current is not None
            and current["active"]
            and wanted
            == {(m["site_id"], tuple(sorted(m["roles"]))) for m in current["memberships"]}
        ):
            continue
        body = {"display_name": name, "memberships": memberships, "active": True}
        api.call("PUT", "intake", f"/v1/staff/{staff_id}", body)
        api.count("staff entries")


def next_tuesday(today: date | None = None) -> date:
    """The group's first session: the next Tuesday after today (a week on if today is one)."""
    today = today or datetime.now(UTC).date()
    return today + timedelta(days=(1 - today.weekday()) % 7 or 7)


def _group(api: Api, sites: dict[str, str], program: str, clinicians: dict[str, str]) -> str:
    """Site North's skills group (fiona and Robin lead it); skills-group learns the site, the
    program and the clinicians from intake's events, so it may refuse them for a moment."""
    site = sites[NORTH]
    # the site's first page of groups (200): the demo makes one
    for group in api.call("GET", "skills-group", f"/v1/groups?site_id={site}")["items"]:
        if group["name"] == GROUP["name"]:
            return group["id"]
    body = {**GROUP, "site_id": site, "program_id": program,
            "facilitator_ids": [clinicians[FIONA], clinicians[ROBIN]],
            "starts_on": next_tuesday().isoformat(), "cycles": 2}  # fmt: skip
    api.count("groups")
    return api.call("POST", "skills-group", "/v1/groups", body, wait=(422,))["id"]


def _coaching(api: Api, sites: dict[str, str], clinicians: dict[str, str]) -> None:
    """Site North's coaching hours and rota, each put unless it is already so."""
    base = f"/v1/sites/{sites[NORTH]}"
    hours = api.call("GET", "coaching", base + "/coaching-hours", wait=(404,))
    if [(h["weekday"], h["start"], h["end"]) for h in hours["hours"]] != [
        (h["weekday"], h["start"], h["end"]) for h in HOURS
    ]:
        api.call("PUT", "coaching", base + "/coaching-hours", {"hours": HOURS})
        api.count("coaching hours")
    wanted = {
        layer: [{"weekday": d, "start": "17:00", "end": "21:00", "clinician_id": clinicians[who]}
                for d, who in days.items()]
        for layer, days in ROTA.items()
    }  # fmt: skip
    rota = api.call("GET", "coaching", base + "/rota", wait=(404,))
    if any(_shifts(rota.get(layer) or []) != _shifts(wanted[layer]) for layer in wanted):
        api.call("PUT", "coaching", base + "/rota", wanted, wait=(422,))
        api.count("rotas")


def _shifts(shifts: list[dict[str, Any]]) -> set[tuple[str, str, str, str]]:
    return {(s["weekday"], s["start"], s["end"], s["clinician_id"]) for s in shifts}


def _referrals(api: Api, sites: dict[str, str], clinicians: dict[str, str]) -> dict[str, str]:
    """Each demo client's referral, recorded unless the site has one of that name, then taken
    from where it is to its stage. Answers the admitted clients' ids by given name."""
    admitted = {}
    for key, site in sites.items():
        rows = _pages(api, "intake", f"/v1/referrals?site_id={site}&limit=100", api.coordinator)
        names: dict[str, str] = {}
        for start in range(0, len(rows), 100):
            ids = [r["id"] for r in rows[start : start + 100]]
            found = api.call("POST", "intake", "/v1/clients/display-names",
                             {"client_ids": ids}, token=api.coordinator)["items"]  # fmt: skip
            names.update({n["display_name"]: n["client_id"] for n in found})
        by_id = {r["id"]: r for r in rows}
        for where, given, family, born, stage, high_risk in REFERRALS:
            if where != key:
                continue
            referral_id = names.get(f"{given} {family}")
            if referral_id is None:
                row = _record(api, site, given, family, born)
            else:
                row = by_id[referral_id]
            _advance(api, row, stage, high_risk, clinicians[THEO])
            if stage == "admitted":
                admitted[given] = row["id"]
    return admitted


def _record(api: Api, site: str, given: str, family: str, born: str) -> dict[str, Any]:
    body = {
        "site_id": site, "program": "adult", "source": "GP letter (demo)",
        "consent_to_contact": True,
        "client": {"given_name": given, "family_name": family, "date_of_birth": born,
                   "email": f"{given.lower()}.{family.lower()}@client.demo.example.org",
                   "phone": "+1 312 555 0142", "preferred_channel": "email", "language": "en"},
    }  # fmt: skip
    made = api.call("POST", "intake", "/v1/referrals", body, token=api.coordinator,
                    key=f"referral/{site}/{given}-{family}")  # fmt: skip
    api.count("referrals")
    return {"id": made["id"], "status": made["status"], "therapist_id": None}


def _stage_of(row: dict[str, Any]) -> str:
    if row["status"] == "orientation" and row.get("therapist_id"):
        return "matched"
    return row["status"]


def _advance(api: Api, row: dict[str, Any], stage: str, high_risk: bool, theo: str) -> None:
    if _stage_of(row) not in STAGES:  # withdrawn or not eligible by someone's hand: leave it
        return
    path = f"/v1/referrals/{row['id']}"
    steps = {
        "screening": ("screenings", {
            "cssrs": [high_risk, high_risk, False, False, False, False],
            "phq9": [2, 2, 1, 2, 1, 1, 1, 0, 1 if high_risk else 0],
            "gad7": [1, 2, 1, 1, 0, 1, 1], "ders16_total": 52, "bsl23_mean": 1.8}),
        "eligible": ("eligibility", {"decision": "eligible",
                                     "reason": "Demo: meets the program's criteria."}),
        "orientation": ("orientation", None),
        "matched": ("therapist", {"clinician_id": theo}),
        "committed": ("commitment", {"orientation_sessions": 2, "all_modes": True,
                                     "four_miss_rule": True, "consent_to_treatment": True}),
        "admitted": ("admission", {"availability": TUESDAY_EVENINGS}),
    }  # fmt: skip
    for step in STAGES[STAGES.index(_stage_of(row)) + 1 : STAGES.index(stage) + 1]:
        action, body = steps[step]
        api.call("POST", "intake", f"{path}/{action}", body, token=api.coordinator)
        api.count("pipeline steps")


def load(profile: Profile, timeout: float = DEFAULT_TIMEOUT) -> dict[str, int]:
    """Load (or complete) the demo organisation in the running stack of ``profile``; answers
    what it made, e.g. ``{"sites": 2, "referrals": 10, ...}`` (empty when all was there)."""
    api = Api(profile, timeout)
    sites = _sites(api)
    programs = _programs(api, sites)
    clinicians = _clinicians(api, sites)
    _staff(api, sites)
    _group(api, sites, programs[NORTH], clinicians)  # before the admissions: placed into it
    admitted = _referrals(api, sites, clinicians)
    _coaching(api, sites, clinicians)
    demo_clients.load(api, sites[NORTH], admitted, THEO)
    return api.made


def describe(made: dict[str, int]) -> str:
    if not made:
        return "the demo organisation is complete: nothing to add"
    return "demo organisation loaded: " + ", ".join(f"{n} {what}" for what, n in made.items())


def marker(profile: Profile) -> Path:
    """Says the first start of the profile's stack has been dealt with (loaded, declined, or
    found data there): later starts do not look again."""
    return profile.data_dir / "demo.json"


def _mark(profile: Profile, outcome: str, made: dict[str, int] | None = None) -> None:
    path = marker(profile)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"outcome": outcome, "made": made or {}}) + "\n")


def sign_in_note(profile: Profile) -> str | None:
    """For ``make run``'s sign-in help: where the dev users work, once the demo is loaded."""
    try:
        loaded = json.loads(marker(profile).read_text())["outcome"] == "loaded"
    except (OSError, ValueError, KeyError, TypeError):
        loaded = False
    if not loaded:
        return None
    north, south = SITES[NORTH]["name"], SITES[SOUTH]["name"]
    return (
        f"demo organisation: {north} and {south}; carla coordinates both, fiona leads the "
        f"Tuesday group and theo has four clients at {north}"
    )


def mark_loaded(profile: Profile, made: dict[str, int]) -> None:
    """After ``make demo``: a later first start does not look again."""
    _mark(profile, "loaded", made)


def load_on_first_start(profile: Profile, wanted: bool = True) -> str | None:
    """``make run``/``make up``: the demo organisation into a stack started for the first time
    with nothing in it (no marker, and intake has no site but the demo's: one read); once.
    ``wanted`` false (``DEMO=0``) starts empty and remembers it. Answers a line to print, or
    None. A load that fails leaves the stack running and says how to try again."""
    if marker(profile).exists():
        return None
    if not wanted:
        _mark(profile, "declined")
        return "started empty (DEMO=0); `make demo` loads the demo organisation later"
    try:
        api = Api(profile)
        # Empty: no site but the demo's own (a first load that stopped half-way is finished).
        demo_names = {spec["name"] for spec in SITES.values()}
        sites = api.call("GET", "intake", f"/v1/sites?limit={len(SITES) + 1}")["items"]
        if any(site["name"] not in demo_names for site in sites):
            _mark(profile, "not empty")  # someone's own data: left alone
            return None
        print("\nloading the demo organisation (first start, empty stack) ...", flush=True)
        made = load(profile)
    except Exception as exc:  # whatever went wrong, the stack keeps running: say so and go on
        return f"the demo organisation was not loaded ({exc}); `make demo` tries again"
    _mark(profile, "loaded", made)
    return describe(made) + " (`make run DEMO=0` on an empty stack starts without it)"
