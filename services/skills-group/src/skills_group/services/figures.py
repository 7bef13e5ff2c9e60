"""Skills groups at a glance for the operators' overview: per site and program, the groups'
seats filled and free now and the members at risk (one miss from the program's limit:
``attendance`` keeps each membership's ``at_risk``), every site in one call; and the list behind
the at-risk figure, a site's members at risk.

Reads: the site directory (one document per site), a site's groups (index ``site_program``),
each group's members now (index ``group_status``): what the clinic holds today, never the
calendar or the attendance history (``GET /v1/overview`` adds those, for the analysis)."""

from __future__ import annotations

from typing import Any

from dbt_shared.auth import Principal
from dbt_shared.errors import Forbidden
from dbt_shared.vocabulary import COORDINATING
from skills_group.bootstrap import Components


def _site_ids(c: Components, principal: Principal) -> list[str]:
    allowed = principal.site_filter()  # None: every site
    known = [s["_id"] for s in c.repositories.sites.find({}, {"_id": 1}, sort=[("_id", 1)])]
    return [s for s in known if allowed is None or s in allowed]


def group_figures(c: Components, principal: Principal) -> dict[str, Any]:
    """Every site the caller may see (operators: all; coordinators: theirs), each program with
    groups: seats, filled, free, members at risk. Counts only (not audited)."""
    items = []
    for site_id in _site_ids(c, principal):
        programs: dict[str, dict[str, Any]] = {}
        for group in c.repositories.groups_of(site_id):
            members = c.repositories.members(group["_id"])
            row = programs.setdefault(
                group["program_id"],
                {"program_id": group["program_id"], "groups": 0, "seats": 0, "filled": 0},
            )
            row["groups"] += 1
            row["seats"] += int(group.get("capacity") or 0)
            row["filled"] += len(members)
            row["at_risk"] = row.get("at_risk", 0) + sum(1 for m in members if m.get("at_risk"))
        rows = []
        for program_id in sorted(programs):
            row = programs[program_id]
            program = c.repositories.program(program_id) or {}  # index: _id
            rows.append(
                {
                    **row,
                    "program": program.get("kind"),
                    "free": max(0, row["seats"] - row["filled"]),
                    "at_risk": row.get("at_risk", 0),
                }
            )
        items.append(
            {
                "site_id": site_id,
                "seats": sum(r["seats"] for r in rows),
                "filled": sum(r["filled"] for r in rows),
                "free": sum(r["free"] for r in rows),
                "at_risk": sum(r["at_risk"] for r in rows),
                "programs": rows,
            }
        )
    return {"items": items}


def members_at_risk(site_id: str, c: Components, principal: Principal) -> dict[str, Any]:
    """The site's members one miss from their program's limit, by group (its coordinators,
    operators). Who is at risk of discharge is a client's health data: audited, naming each
    client, before the answer."""
    principal.require_site(site_id)
    if not principal.holds_at(site_id, *COORDINATING):
        raise Forbidden("The site's members at risk are for its coordinators.")
    items = []
    for group in c.repositories.groups_of(site_id):
        for member in c.repositories.members(group["_id"]):
            if member.get("at_risk"):
                items.append(
                    {
                        "enrollment_id": member["_id"],
                        "client_id": member["client_id"],
                        "group_id": group["_id"],
                        "group_name": group.get("name"),
                        "program_id": group["program_id"],
                        "therapist_id": member.get("therapist_id"),
                    }
                )
    shown = [i["client_id"] for i in items] or None  # a list of the site's clients
    c.repositories.audit.record_list(principal, "at_risk.list", "client_list", site_id, shown)
    return {"site_id": site_id, "items": items}
