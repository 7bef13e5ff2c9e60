"""What a therapist's console reads: their caseload, a client's diary card week day by day, the
24-hour rule's state, and their after-hours contacts against the team's.

The caseload is the clients whose therapist is one of the caller's clinician records (index
``clients.therapist``); the week of cards is seven reads by ``_id``; the after-hours figures
read one site's contacts of one or two local months (index ``coaching_contacts.site_month``):
every read is bounded by a caseload, a week or a month, never by the service's history.
"""

from __future__ import annotations

import hashlib
import statistics
from collections import Counter
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from coaching.bootstrap import Components
from coaching.domain import diary
from coaching.services.common import (
    COORDINATING,
    acting_clinician,
    audit,
    aware,
    client_for,
    own_clinicians,
    program_settings,
    safety_of,
    site_today,
    zone_of,
)
from coaching.services.diary import CARD_FIELD
from coaching.services.requests import is_involved
from dbt_shared.auth import Principal
from dbt_shared.errors import InvalidInput, NotFound
from dbt_shared.vocabulary import SITE_STAFF

RULE_HOURS = 24
QUEUE_LIMIT = 200  # the requests in hand a queue shows (a site has a handful at once)


def rule_state(c: Components, client: dict[str, Any]) -> dict[str, Any]:
    """The 24-hour rule for this client now: whether the program keeps it, and while a hold
    runs, since when and until when (a crisis request is never held)."""
    applies = program_settings(c, client)["twenty_four_hour_rule"]
    harmed = safety_of(c, client)["self_harm_at"]
    until = aware(harmed) + timedelta(hours=RULE_HOURS) if harmed else None
    active = bool(applies and until and until > c.clock.now())
    return {
        "applies": applies,
        "active": active,
        "self_harm_at": aware(harmed) if active else None,
        "until": until if active else None,
    }


# -- the caseload --------------------------------------------------------------------------------
def caseload(c: Components, principal: Principal) -> dict[str, Any]:
    """The caller's clinician records and the clients of each (a caller who is no clinician
    has an empty caseload): open ruptures and the 24-hour rule's state beside each client."""
    mine = own_clinicians(c, principal)
    items = []
    for clinician in mine:
        for client in c.repositories.clients_of_therapist(clinician["_id"]):
            if client["site_id"] != clinician["site_id"]:
                continue  # a therapist sees their clients at the site they work at
            ruptures = c.repositories.ruptures_of(client["_id"])  # index: client
            items.append(
                {
                    "client_id": client["_id"],
                    "site_id": client["site_id"],
                    "program_id": client.get("program_id"),
                    "therapist_id": clinician["_id"],
                    "admitted_at": client.get("admitted_at"),
                    "group_discharged_at": client.get("group_discharged_at"),
                    "open_ruptures": sum(1 for r in ruptures if r["status"] == "open"),
                    "twenty_four_hour_rule": rule_state(c, client),
                }
            )
    if items:
        # one record names every client shown (their safety state and ruptures are health data)
        ids = [x["client_id"] for x in items]
        for site_id in sorted({x["site_id"] for x in items}):
            here = [i for i, x in zip(ids, items, strict=True) if x["site_id"] == site_id]
            c.repositories.audit.record(
                principal,
                action="caseload.read",
                object_type="client",
                object_id=here[0],
                site_id=site_id,
                object_ids=here,
            )
    return {
        "clinicians": [{"id": x["_id"], "site_id": x["site_id"]} for x in mine],
        "items": items,
    }


def twenty_four_hour_rule(client_id: str, c: Components, principal: Principal):
    client = client_for(c, client_id, principal, coordinators=True)
    audit(c, principal, "safety_state.read", "client", client_id, client["site_id"])
    return {"client_id": client_id, **rule_state(c, client)}


# -- a week of diary cards, day by day -----------------------------------------------------------
def diary_week(client_id: str, args: dict[str, Any], c: Components, principal: Principal):
    """The ISO week's cards, one entry per day (``filled`` false where no card was kept), for
    the therapist's chart: the client and their therapist only, like the summary."""
    client = client_for(c, client_id, principal)
    week = args.get("week") or _this_week(c, client["site_id"])
    try:
        first, last = diary.parse_week(week)
    except ValueError as exc:
        raise InvalidInput.field("week", str(exc)) from None
    cards = {
        card["date"]: c.cipher.decrypt_json(card["sealed"], record_id=card["_id"], field=CARD_FIELD)
        for card in c.repositories.cards_between(client_id, first.isoformat(), last.isoformat())
    }
    audit(c, principal, "diary_card.week_read", "diary_card", client_id, client["site_id"])
    days = []
    for n in range(7):
        day = (first + timedelta(days=n)).isoformat()
        card = cards.get(day)
        days.append(
            {
                "date": day,
                "filled": card is not None,
                "emotions": (card or {}).get("emotions", {}),
                "urges": (card or {}).get("urges", []),
                "skills_used": (card or {}).get("skills_used", []),
                "distress": (card or {}).get("distress"),
            }
        )
    return {
        "client_id": client_id,
        "week": week,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "days": days,
    }


def _this_week(c: Components, site_id: str) -> str:
    year, week, _ = site_today(c, site_id).isocalendar()
    return f"{year}-W{week:02d}"


# -- after-hours load against the team ------------------------------------------------------------
def _months_back(today: date) -> list[str]:
    """This local month, and the one before when this ISO week began in it."""
    monday = today - timedelta(days=today.weekday())
    return sorted({monday.strftime("%Y-%m"), today.strftime("%Y-%m")})


def after_hours(clinician_id: str, c: Components, principal: Principal) -> dict[str, Any]:
    """The clinician's coaching contacts outside business hours this week and this month (site
    time) against the median of the site's clinicians: the early warning of fatigue. The
    clinician sees their own; the site's coordinators (and operators) see any of the site's.
    Other clinicians' own figures are never shown, only the median."""
    clinician = c.repositories.clinicians.get(clinician_id)
    if clinician is None or not principal.can_act_on_site(clinician["site_id"]):
        raise NotFound("clinician")
    own = principal.has_role(*SITE_STAFF) and clinician.get("subject") == principal.subject
    if not own and not principal.holds_at(clinician["site_id"], *COORDINATING):
        raise NotFound("clinician")
    site_id = clinician["site_id"]
    zone = zone_of(c, site_id)
    today = c.clock.now().astimezone(ZoneInfo(zone)).date()
    monday = today - timedelta(days=today.weekday())
    this_month = today.strftime("%Y-%m")
    week: Counter = Counter()
    month: Counter = Counter()
    minutes_week: Counter = Counter()
    minutes_month: Counter = Counter()
    for key in _months_back(today):
        for x in c.repositories.contacts_in_month(site_id, key):  # index: site_month
            if int(x.get("outside_minutes") or 0) <= 0:
                continue
            local = aware(x["started_at"]).astimezone(ZoneInfo(zone)).date()
            who = x["clinician_id"]
            if monday <= local <= today:
                week[who] += 1
                minutes_week[who] += int(x["outside_minutes"])
            if key == this_month:
                month[who] += 1
                minutes_month[who] += int(x["outside_minutes"])
    team = [x["_id"] for x in c.repositories.clinicians.of_site(site_id)]  # index: site
    if clinician_id not in team:
        team.append(clinician_id)

    def median(counts: Counter) -> float:
        return float(statistics.median(counts[who] for who in team))

    return {
        "clinician_id": clinician_id,
        "site_id": site_id,
        "team_size": len(team),
        "week": {
            "from": monday.isoformat(),
            "to": today.isoformat(),
            "contacts": week[clinician_id],
            "minutes": minutes_week[clinician_id],
            "team_median_contacts": median(week),
        },
        "month": {
            "month": this_month,
            "contacts": month[clinician_id],
            "minutes": minutes_month[clinician_id],
            "team_median_contacts": median(month),
        },
    }


# -- the live queue's version ---------------------------------------------------------------------
def queue_version(site_id: str, c: Components, principal: Principal) -> dict[str, Any]:
    """An opaque digest of the site's requests in hand as the caller may see them (ids,
    statuses, escalations, whom they reach): a console polls this and reads the list, audited,
    only when it changed. One read of index ``site_active`` (what is in hand, never the
    history); it carries no client data, so it leaves no audit record."""
    principal.require_site(site_id)
    coordinating = principal.holds_at(site_id, *COORDINATING)
    if not coordinating:
        acting_clinician(c, principal, site_id)
    in_hand = c.repositories.active_requests(site_id, None, QUEUE_LIMIT)  # index: site_active
    if not coordinating:
        in_hand = [r for r in in_hand if is_involved(c, principal, r)]
    digest = hashlib.sha256()
    for r in in_hand:
        line = (
            r["_id"],
            r["status"],
            len(r.get("history") or ()),
            *sorted(r.get("notified") or ()),
        )
        digest.update("|".join(map(str, line)).encode() + b"\n")
    return {"site_id": site_id, "in_hand": len(in_hand), "version": digest.hexdigest()[:32]}
