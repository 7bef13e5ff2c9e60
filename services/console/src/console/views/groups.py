"""The group facilitator's pages: my groups, scheduling a group (or the next cycle of one) with
its calendar previewed and its conflicts shown before saving, and a group's page (its module
calendar, the closures and what they did, one session rescheduled or cancelled, the roster with
each member's run of misses, free seats, who waits, the calendar feed link).

Groups, sessions and memberships are named in URLs by their ids only; a client's id travels in
a form's body, their name only in a page's body. Skills-group decides every call (a group's own
facilitators and the site's coordinators); the pages only offer what it would allow.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, redirect, render_template, request, session, url_for

from console.client import ServiceRefused, segment
from console.names import client_names
from console.web import api, components, current_user, roles
from dbt_shared.vocabulary import COORDINATING, RUNNING_GROUPS

blp = Blueprint("groups", __name__, url_prefix="/groups")

WEEKDAYS = (
    ("mon", "Monday"),
    ("tue", "Tuesday"),
    ("wed", "Wednesday"),
    ("thu", "Thursday"),
    ("fri", "Friday"),
    ("sat", "Saturday"),
    ("sun", "Sunday"),
)
MODULES = {
    "M": "Mindfulness",
    "DT": "Distress tolerance",
    "ER": "Emotion regulation",
    "IE": "Interpersonal effectiveness",
    "WMP": "Walking the middle path",
}
STATUS_NAMES = {"scheduled": "Scheduled", "rescheduled": "Moved", "cancelled": "Cancelled"}
ENDED_NAMES = {
    "active": "Member",
    "removed": "Removed",
    "transferred": "Moved to another group",
    "discharged": "Discharged (missed sessions)",
    "graduated": "Completed",
}

# the feed URL made, shown once (server-side session; a key without dots: FerretDB)
FEED_SHOWN = "groups_feed_shown"


def module_name(code: str) -> str:
    return MODULES.get(code, code)


# -- reading ---------------------------------------------------------------------------------
def group_site_ids(sites: list[dict[str, Any]] | None = None) -> list[str]:
    """The sites where the user runs groups (an operator: every site, from intake's list:
    ``sites`` when the page has it already)."""
    user = current_user()
    if "operator" in user.get("roles", ()):
        if sites is None:
            sites = api().get("intake", "/v1/sites", limit=100)["items"]
        return [s["id"] for s in sites]
    site_roles = user.get("site_roles") or {}
    if not site_roles:  # the directory did not answer at sign-in: the token's sites
        return list(user.get("sites") or [])
    return [s for s, held in site_roles.items() if set(held) & set(RUNNING_GROUPS)]


def _coordinates(site_id: str) -> bool:
    user = current_user()
    if "operator" in user.get("roles", ()):
        return True
    held = (user.get("site_roles") or {}).get(site_id)
    return "coordinator" in (held if held is not None else user.get("roles", ()))


@blp.get("")
@roles(*RUNNING_GROUPS)
def my_groups():
    """The groups I facilitate at each of my sites, then the site's other groups: one call per
    service whatever the number of sites (the sites and the groups of all mine at once, then the
    leaders' names and subjects in one intake call), never one per site."""
    calls = api()
    cursor = request.args.get("cursor") or None  # the page after the one before (skills-group's)
    found = calls.gather(
        sites=lambda: calls.get("intake", "/v1/sites", limit=100),
        # every site of mine, a page of them
        groups=lambda: calls.get("skills-group", "/v1/groups", cursor=cursor),
    )
    site_names = {s["id"]: s["name"] for s in found["sites"]["items"]}
    site_ids = group_site_ids(found["sites"]["items"])
    groups = found["groups"]["items"]
    leaders = _clinician_names(calls, [i for g in groups for i in g.get("facilitator_ids", [])])
    sub = current_user().get("sub")
    me = {i for i, c in leaders.items() if sub and c.get("subject") == sub}
    by_site: dict[str, list[dict[str, Any]]] = {}
    for g in groups:
        g["leaders"] = [
            leaders.get(i, {}).get("display_name") or "Someone who left"
            for i in g.get("facilitator_ids", [])
        ]
        by_site.setdefault(g["site_id"], []).append(g)
    sites = []
    for site_id in site_ids:
        here = by_site.get(site_id, [])
        sites.append(
            {
                "id": site_id,
                "name": site_names.get(site_id, "A site"),
                "mine": [g for g in here if me & set(g.get("facilitator_ids", []))],
                "others": [g for g in here if not me & set(g.get("facilitator_ids", []))],
                "may_schedule": True,
            }
        )
    return render_template(
        "groups/mine.html",
        sites=sites,
        weekdays=dict(WEEKDAYS),
        next_cursor=found["groups"]["next_cursor"],
    )


def _clinician_names(calls, ids: list[str]) -> dict[str, dict[str, Any]]:
    """The clinicians' names and subjects by id, one intake call for the whole page."""
    wanted = list(dict.fromkeys(i for i in ids if i))[:500]  # intake's bound: MAX_CLINICIAN_IDS
    if not wanted:
        return {}
    found = calls.look_up("intake", "/v1/clinicians/display-names", {"clinician_ids": wanted})
    return {c["clinician_id"]: c for c in found["items"]}


# -- scheduling ------------------------------------------------------------------------------
def clinician_list(calls, site_id: str) -> list[dict[str, Any]]:
    """The site's clinicians (``calls`` made in the request: a pool thread has no session)."""
    found = calls.get("intake", f"/v1/sites/{segment(site_id)}/clinicians")
    return found.get("items", found) if isinstance(found, dict) else found


def cycles_of(sessions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sessions by cycle, then by module block (a block opens where the module changes)."""
    cycles: list[dict[str, Any]] = []
    for s in sessions:
        if not cycles or cycles[-1]["cycle"] != s.get("cycle"):
            cycles.append({"cycle": s.get("cycle"), "blocks": []})
        blocks = cycles[-1]["blocks"]
        if not blocks or blocks[-1]["module"] != s["module"] or s.get("module_week") == 1:
            blocks.append({"module": s["module"], "sessions": []})
        blocks[-1]["sessions"].append(s)
    return cycles


# -- a group's page --------------------------------------------------------------------------
def _started(s: dict[str, Any], now: datetime) -> bool:
    return datetime.fromisoformat(s["starts_at"]) <= now


def load_group(group_id: str) -> dict[str, Any]:
    """Everything a group's page shows, in two rounds of parallel calls (never one per row)."""
    calls = api()
    gid = segment(group_id)
    first = calls.gather(
        group=lambda: calls.get("skills-group", f"/v1/groups/{gid}"),
        sessions=lambda: calls.get("skills-group", f"/v1/groups/{gid}/sessions"),
        enrollments=lambda: calls.get("skills-group", f"/v1/groups/{gid}/enrollments"),
        waiting=lambda: calls.get("skills-group", f"/v1/groups/{gid}/waitlist"),
    )
    group = first["group"]
    site = segment(group["site_id"])
    # the calendar and the memberships are whole (bounded); who waits, the first page of them
    first["more_waiting"] = first["waiting"]["next_cursor"] is not None
    for listed in ("sessions", "enrollments", "waiting"):
        first[listed] = first[listed]["items"]
    client_ids = [e["client_id"] for e in first["enrollments"]] + [
        w["client_id"] for w in first["waiting"]
    ]
    second = calls.gather(
        closures=lambda: calls.get("skills-group", f"/v1/sites/{site}/closures", group_id=group_id),
        clinicians=lambda: clinician_list(calls, group["site_id"]),
        names=lambda: client_names(calls, client_ids),
        feeds=lambda: calls.get("skills-group", "/v1/calendar-feeds", site_id=group["site_id"]),
        site=lambda: calls.get("intake", f"/v1/sites/{site}"),
    )
    second["closures"] = second["closures"]["items"]  # a site's closures: one page, bounded
    return {**first, **second}


@blp.get("/<group_id>")
@roles(*RUNNING_GROUPS)
def group_page(group_id: str):
    found = load_group(group_id)
    shown = session.pop(FEED_SHOWN, None)
    feed_url = shown["url"] if shown and shown.get("group_id") == group_id else None
    return _render_group(group_id, found, feed_url=feed_url)


def _render_group(group_id, found, feed_url=None, errors=None, form_error=None, status=200):
    group, sessions = found["group"], found["sessions"]
    now = components().clock.now()
    clinicians = {c["id"]: c for c in found["clinicians"]}
    members = [e for e in found["enrollments"] if e["status"] == "active"]
    upcoming = [s for s in sessions if not _started(s, now) and s["status"] != "cancelled"]
    next_index = upcoming[0]["index"] if upcoming else None
    held = [
        e
        for e in members
        if next_index is None or e["first_index"] <= next_index < e["until_index"]
    ]
    zone = ZoneInfo(found["site"].get("timezone") or "UTC")
    today = now.astimezone(zone).date().isoformat()
    todays = [s for s in sessions if s["date"] == today and s["status"] != "cancelled"]
    for s in sessions:
        s["started"] = _started(s, now)
    feeds = [f for f in found["feeds"]["items"] if f.get("group_id") == group_id]
    return render_template(
        "groups/group.html",
        group=group,
        cycles=cycles_of(sessions),
        members=members,
        past_members=[e for e in found["enrollments"] if e["status"] != "active"],
        seats_free=max(group["capacity"] - len(held), 0),
        waiting=found["waiting"],
        more_waiting=found.get("more_waiting", False),
        closures=[c for c in found["closures"] if c.get("effect")],
        names=found["names"],
        leaders=[
            clinicians.get(i, {}).get("display_name", "Someone who left")
            for i in group["facilitator_ids"]
        ],
        today=todays[0] if todays else None,
        feeds=feeds,
        feed_url=feed_url,
        may_undo_closures=_coordinates(group["site_id"]),
        module_name=module_name,
        status_names=STATUS_NAMES,
        ended_names=ENDED_NAMES,
        weekdays=dict(WEEKDAYS),
        errors=errors or {},
        form_error=form_error,
    ), status


def zone_of(group: dict[str, Any]) -> str:
    """The site's time zone: a session's wall time is the site's."""
    site = api().get("intake", f"/v1/sites/{segment(group['site_id'])}")
    return site.get("timezone") or "UTC"


# -- members ---------------------------------------------------------------------------------
@blp.post("/<group_id>/admissions")
@roles(*RUNNING_GROUPS)
def admit(group_id: str):
    """A waiting client into a free seat (the client's id in the form, never the URL)."""
    client_id = request.form.get("client_id", "")
    try:
        api().post(
            "skills-group",
            f"/v1/groups/{segment(group_id)}/enrollments",
            {"client_id": client_id},
        )
    except ServiceRefused as exc:
        if exc.status in (403, 404):
            raise
        return _render_group(group_id, load_group(group_id), form_error=exc.detail, status=409)
    return redirect(url_for("groups.group_page", group_id=group_id, _anchor="roster"), code=303)


# -- closures and the calendar feed ----------------------------------------------------------
@blp.post("/<group_id>/closures/undo")
@roles(*COORDINATING)
def undo_closure(group_id: str):
    """Undo a site closure (the date in the form): sessions move back, reminders follow."""
    group = api().get("skills-group", f"/v1/groups/{segment(group_id)}")
    day = request.form.get("date", "")
    try:
        date.fromisoformat(day)
    except ValueError:
        return _render_group(
            group_id, load_group(group_id), form_error="No such closure.", status=422
        )
    api().delete("skills-group", f"/v1/sites/{segment(group['site_id'])}/closures/{day}")
    return redirect(url_for("groups.group_page", group_id=group_id, _anchor="closures"), code=303)


@blp.post("/<group_id>/feed")
@roles(*RUNNING_GROUPS)
def make_feed(group_id: str):
    """A calendar link for the group: shown once on the page (its secret is never stored by
    the console; it waits in the server-side session for the next page only)."""
    feed = api().post("skills-group", "/v1/calendar-feeds", {"group_id": group_id})
    session[FEED_SHOWN] = {"group_id": group_id, "url": feed["url"]}
    return redirect(url_for("groups.group_page", group_id=group_id, _anchor="feed"), code=303)


@blp.post("/<group_id>/feed/revocation")
@roles(*RUNNING_GROUPS)
def revoke_feed(group_id: str):
    feed_id = request.form.get("feed_id", "")
    api().delete("skills-group", f"/v1/calendar-feeds/{segment(feed_id)}")
    return redirect(url_for("groups.group_page", group_id=group_id, _anchor="feed"), code=303)
