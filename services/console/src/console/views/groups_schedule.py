"""Scheduling a group, or the next cycle of one: program and curriculum, the first session at
the curriculum's start (a module boundary), day, time, room, co-leaders and seats; the module
calendar previewed with every clash of room or facilitator and every closure met, before
anything is saved (skills-group's ``POST /v1/group-previews``, then ``POST /v1/groups``)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for

from console.client import ServiceRefused, segment
from console.views import forms
from console.views.groups import (
    STATUS_NAMES,
    WEEKDAYS,
    clinician_list,
    cycles_of,
    group_site_ids,
    module_name,
)
from console.web import api, components, roles
from dbt_shared.vocabulary import RUNNING_GROUPS

blp = Blueprint("group_schedule", __name__, url_prefix="/groups")

GROUP_FIELDS = [
    "site_id",
    "program_id",
    "name",
    "weekday",
    "start_time",
    "duration_minutes",
    "room",
    "facilitator_ids[0]",
    "facilitator_ids[1]",
    "starts_on",
    "cycles",
    "capacity",
]
GROUP_WORDING = {
    "program_id": "Choose the program",
    "name": "Enter the group's name",
    "weekday": "Choose the day it meets",
    "start_time": "Enter the start time, for example 18:00",
    "duration_minutes": "Enter how long a session lasts in minutes",
    "room": "Enter the room",
    "facilitator_ids[0]": "Choose the lead facilitator",
    "facilitator_ids[1]": "Choose the co-leader",
    "starts_on": "Enter the date of the first session",
    "cycles": "Enter how many passes through the curriculum",
    "capacity": "Enter the number of seats",
}


def _schedule_page(values, errors, form_error, preview=None, status=200):
    site_ids = group_site_ids()
    site_id = values.get("site_id") or (site_ids[0] if site_ids else "")
    if site_id not in site_ids:
        site_id = site_ids[0] if site_ids else ""
    values["site_id"] = site_id
    calls = api()
    found = calls.gather(
        sites=lambda: calls.get("intake", "/v1/sites", limit=100),
        programs=lambda: (
            calls.get("intake", f"/v1/sites/{segment(site_id)}/programs") if site_id else []
        ),
        clinicians=lambda: clinician_list(calls, site_id) if site_id else [],
    )
    programs = found["programs"]
    programs = programs.get("items", programs) if isinstance(programs, dict) else programs
    leaders = [
        c
        for c in found["clinicians"]
        if c.get("active", True) and "facilitator" in (c.get("roles") or [])
    ]
    names = {c["id"]: c.get("display_name", "") for c in found["clinicians"]}
    return render_template(
        "groups/schedule.html",
        sites=[s for s in found["sites"]["items"] if s["id"] in site_ids],
        programs=programs,
        leaders=leaders,
        leader_names=names,
        weekdays=WEEKDAYS,
        values=values,
        errors=errors,
        form_error=form_error,
        preview=preview,
        module_name=module_name,
        status_names=STATUS_NAMES,
    ), status


@blp.get("/new")
@roles(*RUNNING_GROUPS)
def schedule():
    """A new group, or (``?after=<group id>``) the next cycle of one: the same program, day,
    time, room and leaders, starting the week after its last session."""
    values: dict[str, Any] = {"site_id": request.args.get("site", ""), "cycles": "1"}
    after = request.args.get("after", "")
    if after:
        calls = api()
        found = calls.gather(
            group=lambda: calls.get("skills-group", f"/v1/groups/{segment(after)}"),
            sessions=lambda: calls.get("skills-group", f"/v1/groups/{segment(after)}/sessions"),
        )
        g, sessions = found["group"], found["sessions"]["items"]
        last = max(
            (date.fromisoformat(s["date"]) for s in sessions),
            default=components().clock.now().date(),
        )
        leaders = g.get("facilitator_ids") or []
        values = {
            "site_id": g["site_id"],
            "program_id": g["program_id"],
            "name": f"{g['name']} (next cycle)"[:120],
            "weekday": g["weekday"],
            "start_time": g["start_time"],
            "duration_minutes": str(g["duration_minutes"]),
            "room": g["room"],
            "facilitator_ids[0]": leaders[0] if leaders else "",
            "facilitator_ids[1]": leaders[1] if len(leaders) > 1 else "",
            "starts_on": (last + timedelta(days=1)).isoformat(),
            "cycles": "1",
            "capacity": str(g.get("capacity") or ""),
        }
    return _schedule_page(values, {}, None)


def _group_body(values: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The form as skills-group's ``GroupIn``; numbers that are not numbers are the page's
    own messages (the service would say the same at the same field)."""
    body: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in ("site_id", "program_id", "name", "weekday", "start_time", "room", "starts_on"):
        if values.get(name):
            body[name] = values[name]
    for name in ("duration_minutes", "cycles", "capacity"):
        raw = values.get(name, "")
        if raw == "":
            continue
        if not raw.isdigit():
            errors[name] = "Enter a whole number"
            continue
        body[name] = int(raw)
    leaders = [values.get("facilitator_ids[0]", ""), values.get("facilitator_ids[1]", "")]
    body["facilitator_ids"] = [x for x in dict.fromkeys(leaders) if x]
    return body, errors


def _field_errors(exc: ServiceRefused) -> tuple[dict[str, str], str | None]:
    errors, form_error = forms.refusal(exc, GROUP_WORDING)
    if "facilitator_ids" in exc.field_errors:
        errors["facilitator_ids[0]"] = exc.field_errors["facilitator_ids"]
        if form_error and form_error.startswith("Some details") and len(exc.field_errors) == 1:
            form_error = None
    return errors, form_error


@blp.post("/new")
@roles(*RUNNING_GROUPS)
def schedule_post():
    """``preview``: the calendar and its conflicts, nothing saved; ``save``: the group."""
    values = forms.submitted()
    body, errors = _group_body(values)
    if errors:
        return _schedule_page(values, errors, None, status=422)
    if values.get("action") == "save":
        try:
            group = api().post("skills-group", "/v1/groups", body)
        except ServiceRefused as exc:
            if exc.status == 409:  # a clash: show the preview that names them all
                preview = _preview(body)
                return _schedule_page(values, {}, exc.detail, preview, 409)
            errors, form_error = _field_errors(exc)
            return _schedule_page(values, errors, form_error, status=422)
        return redirect(url_for("groups.group_page", group_id=group["id"]), code=303)
    try:
        preview = _preview(body)
    except ServiceRefused as exc:
        errors, form_error = _field_errors(exc)
        return _schedule_page(values, errors, form_error, status=422)
    return _schedule_page(values, {}, None, preview)


def _preview(body: dict[str, Any]) -> dict[str, Any]:
    preview = api().post("skills-group", "/v1/group-previews", body)
    by_index: dict[int, list[dict[str, Any]]] = {}
    for clash in preview["conflicts"]:
        by_index.setdefault(clash["index"], []).append(clash)
    closures = {c["index"]: c for c in preview["closures"]}
    for s in preview["sessions"]:
        s["clashes"] = by_index.get(s["index"], [])
        s["closure"] = closures.get(s["index"])
    preview["cycles"] = cycles_of(preview["sessions"])
    return preview
