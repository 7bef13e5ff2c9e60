"""The operator's view across sites: per site and program, groups, seats, fill at the next
entry point, the waitlist, members at risk, attendance over the last four weeks."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from dbt_shared.auth import Principal
from dbt_shared.clock import aware
from dbt_shared.pagination import decode_cursor, encode_cursor
from skills_group import metrics
from skills_group.bootstrap import Components
from skills_group.domain import attendance, placement
from skills_group.services.admission import seats_of
from skills_group.services.common import (
    closure_days,
    has_started,
    planned,
    record_audit,
    settings_of,
)

WINDOW = timedelta(weeks=4)
# A group whose plan ended this long ago has nothing to show but its count and seats: no seat
# to fill, no member (graduated within the hour of their last session), no attendance in the
# window. The margin beyond the window covers a last session moved by hand.
ENDED_LONG_AGO = WINDOW + timedelta(weeks=8)


def _sites(c: Components, principal: Principal) -> list[str]:
    known = [s["_id"] for s in c.repositories.sites.find({}, {"_id": 1}, sort=[("_id", 1)])]
    return [s for s in known if principal.can_act_on_site(s)]


def site_figures(c: Components, site_id: str) -> list[dict[str, Any]]:
    """One row per program of the site that has groups or waiting clients."""
    now = c.clock.now()
    rows: dict[str, dict[str, Any]] = {}

    def row(program_id: str) -> dict[str, Any]:
        return rows.setdefault(
            program_id,
            {
                "site_id": site_id,
                "program_id": program_id,
                "groups": 0,
                "seats": 0,
                "taken_at_next_entry": 0,
                "fill_ratio": None,
                "waitlist": 0,
                "longest_wait_days": None,
                "at_risk": 0,
                "attended": 0,
                "recorded": 0,
                "attendance_rate_4w": None,
            },
        )

    # A site's groups accumulate (a new group each cycle or two): the ones that ended long ago
    # are known from their own document and the site's closures (the plan, computed), and
    # their calendars, members and attendance are not read. One read of the closures and one
    # of each program's settings for the site.
    closed = closure_days(c, site_id)  # index: site_closures
    settings: dict[str, dict[str, Any]] = {}
    for group in c.repositories.groups_of(site_id):
        r = row(group["program_id"])
        r["groups"] += 1
        r["seats"] += group["capacity"]
        if group["program_id"] not in settings:
            settings[group["program_id"]] = settings_of(c, group)
        plan = planned(group, closed, settings[group["program_id"]])
        if not plan or plan[-1].date < (now - ENDED_LONG_AGO).date():
            continue
        sessions = c.repositories.calendar(group["_id"])
        upcoming = [s for s in sessions if s["is_entry_point"] and not has_started(s, now)]
        if upcoming:
            r["taken_at_next_entry"] += placement.occupancy(
                seats_of(c, group["_id"]), upcoming[0]["index"]
            )
        members = c.repositories.members(group["_id"])
        r["at_risk"] += sum(1 for e in members if e.get("at_risk"))
        rules = attendance.Rules.of(settings[group["program_id"]])
        for session in sessions:
            at = aware(session["starts_at"])
            if now - WINDOW <= at <= now:
                for record in c.repositories.records_of_session(session["_id"]):
                    r["recorded"] += 1
                    r["attended"] += 0 if attendance.is_miss(record, rules) else 1
    for client in c.repositories.waiting(site_id):
        r = row(client["program_id"])
        r["waitlist"] += 1
        since = client.get("waiting_since")
        if since is not None:
            days = (now - aware(since)).days
            r["longest_wait_days"] = max(r["longest_wait_days"] or 0, days)
    for r in rows.values():
        r["fill_ratio"] = round(r["taken_at_next_entry"] / r["seats"], 3) if r["seats"] else None
        r["attendance_rate_4w"] = round(r["attended"] / r["recorded"], 3) if r["recorded"] else None
    return list(rows.values())


def overview(
    args: dict[str, Any], c: Components, principal: Principal
) -> tuple[list[dict[str, Any]], str | None]:
    """Operators: every site; coordinators: theirs. A page of rows in (site, program) order,
    at most ``limit``: only the sites it shows are read; its cursor names the last row (any
    string of the pattern is a place: "<site> <program>", or a site alone)."""
    limit = args.get("limit", 50)
    cursor = args.get("cursor")
    after = tuple(decode_cursor(cursor).partition(" ")[::2]) if cursor else ("", "")
    rows: list[dict[str, Any]] = []
    for site_id in _sites(c, principal):
        if site_id < after[0]:
            continue
        figures = sorted(site_figures(c, site_id), key=lambda r: r["program_id"])
        rows.extend(r for r in figures if (site_id, r["program_id"]) > after)
        if len(rows) > limit:
            break
    record_audit(c, principal, "overview.read", "overview", "*", "*")
    more, rows = len(rows) > limit, rows[:limit]
    last = rows[-1] if more else None
    return rows, (encode_cursor(f"{last['site_id']} {last['program_id']}") if last else None)


def publish_gauges(c: Components) -> None:
    """The overview's figures as gauges (the worker's timer): the same numbers, site labels."""
    for site_id in [s["_id"] for s in c.repositories.sites.find({}, {"_id": 1})]:
        for r in site_figures(c, site_id):
            labels = (r["site_id"], r["program_id"])
            metrics.GROUPS.labels(*labels).set(r["groups"])
            metrics.SEATS.labels(*labels).set(r["seats"])
            metrics.FILL_RATIO.labels(*labels).set(r["fill_ratio"] or 0)
            metrics.WAITLIST.labels(*labels).set(r["waitlist"])
            metrics.LONGEST_WAIT_DAYS.labels(*labels).set(r["longest_wait_days"] or 0)
            metrics.AT_RISK.labels(*labels).set(r["at_risk"])
            metrics.ATTENDANCE_RATE.labels(*labels).set(r["attendance_rate_4w"] or 0)
