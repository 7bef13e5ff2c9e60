"""One member and one session of a group: reach out through the member's therapist, remove
or move them by hand (with a reason, kept sealed by skills-group); reschedule or cancel one
session, this occurrence only, in the site's own time (members' reminders follow)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, redirect, render_template, url_for

from console.client import ServiceRefused, segment
from console.names import client_names
from console.views import forms
from console.views.groups import (
    ENDED_NAMES,
    STATUS_NAMES,
    WEEKDAYS,
    clinician_list,
    module_name,
    zone_of,
)
from console.web import api, roles
from dbt_shared.vocabulary import RUNNING_GROUPS

blp = Blueprint("group_members", __name__, url_prefix="/groups")


def _member_page(group_id, enrollment_id, values=None, errors=None, form_error=None, status=200):
    calls = api()
    gid = segment(group_id)
    found = calls.gather(
        group=lambda: calls.get("skills-group", f"/v1/groups/{gid}"),
        enrollments=lambda: calls.get("skills-group", f"/v1/groups/{gid}/enrollments"),
    )
    group = found["group"]
    member = next((e for e in found["enrollments"]["items"] if e["id"] == enrollment_id), None)
    if member is None:
        raise ServiceRefused("skills-group", 404, {"detail": "No such member."})
    site = group["site_id"]
    more = calls.gather(
        groups=lambda: calls.get(
            "skills-group", "/v1/groups", site_id=site, program_id=group["program_id"]
        ),
        clinicians=lambda: clinician_list(calls, site),
        names=lambda: client_names(calls, [member["client_id"]]),
    )
    others = [
        g
        for g in more["groups"]["items"]
        if g["id"] != group_id and g["program_id"] == group["program_id"]
    ]
    therapist = next((c for c in more["clinicians"] if c["id"] == member.get("therapist_id")), None)
    return render_template(
        "groups/member.html",
        group=group,
        member=member,
        name=more["names"].get(member["client_id"], "A client"),
        others=others,
        therapist=therapist,
        weekdays=dict(WEEKDAYS),
        ended_names=ENDED_NAMES,
        values=values or {},
        errors=errors or {},
        form_error=form_error,
    ), status


@blp.get("/<group_id>/members/<enrollment_id>")
@roles(*RUNNING_GROUPS)
def member(group_id: str, enrollment_id: str):
    """One member: their run, their therapist to reach out through, remove or move them."""
    return _member_page(group_id, segment(enrollment_id))


MEMBER_WORDING = {
    "reason": "Give the reason",
    "group_id": "Choose the group to move them to",
}


@blp.post("/<group_id>/members/<enrollment_id>/removal")
@roles(*RUNNING_GROUPS)
def remove(group_id: str, enrollment_id: str):
    values = forms.submitted()
    try:
        api().post(
            "skills-group",
            f"/v1/enrollments/{segment(enrollment_id)}/removal",
            {"reason": values.get("reason", "")} if values.get("reason") else {},
        )
    except ServiceRefused as exc:
        errors, form_error = forms.refusal(exc, MEMBER_WORDING)
        return _member_page(
            group_id, enrollment_id, {"removal": values}, {"removal": errors}, form_error, 422
        )
    return redirect(url_for("groups.group_page", group_id=group_id, _anchor="roster"), code=303)


@blp.post("/<group_id>/members/<enrollment_id>/transfer")
@roles(*RUNNING_GROUPS)
def transfer(group_id: str, enrollment_id: str):
    values = forms.submitted()
    body = {k: values[k] for k in ("group_id", "reason") if values.get(k)}
    try:
        moved = api().post(
            "skills-group", f"/v1/enrollments/{segment(enrollment_id)}/transfer", body
        )
    except ServiceRefused as exc:
        errors, form_error = forms.refusal(exc, MEMBER_WORDING)
        status = 409 if exc.status == 409 else 422
        return _member_page(
            group_id, enrollment_id, {"transfer": values}, {"transfer": errors}, form_error, status
        )
    return redirect(url_for("groups.group_page", group_id=moved["group_id"]), code=303)


# -- one session -----------------------------------------------------------------------------
SESSION_WORDING = {
    "date": "Enter the new date",
    "time": "Enter the new start time, for example 18:00",
    "room": "Enter the room",
    "reason": "Give the reason for cancelling",
}


def _session_of(group_id: str, session_id: str) -> tuple[dict, dict]:
    calls = api()
    gid = segment(group_id)
    found = calls.gather(
        group=lambda: calls.get("skills-group", f"/v1/groups/{gid}"),
        sessions=lambda: calls.get("skills-group", f"/v1/groups/{gid}/sessions"),
    )
    one = next((s for s in found["sessions"]["items"] if s["id"] == session_id), None)
    if one is None:
        raise ServiceRefused("skills-group", 404, {"detail": "No such session."})
    return found["group"], one


def _session_page(group_id, session_id, values=None, errors=None, form_error=None, status=200):
    group, one = _session_of(group_id, session_id)
    if values is None:
        values = {"date": one["date"], "time": one["local_start"], "room": one.get("room", "")}
    return render_template(
        "groups/session.html",
        group=group,
        session=one,
        values=values,
        errors=errors or {},
        form_error=form_error,
        module_name=module_name,
        status_names=STATUS_NAMES,
    ), status


@blp.get("/<group_id>/sessions/<session_id>")
@roles(*RUNNING_GROUPS)
def session_page(group_id: str, session_id: str):
    """Reschedule or cancel this one session (never the series)."""
    return _session_page(group_id, segment(session_id))


@blp.post("/<group_id>/sessions/<session_id>/reschedule")
@roles(*RUNNING_GROUPS)
def reschedule(group_id: str, session_id: str):
    values = forms.submitted()
    group, one = _session_of(group_id, segment(session_id))
    errors: dict[str, str] = {}
    body: dict[str, Any] = {}
    try:
        day = date.fromisoformat(values.get("date", ""))
    except ValueError:
        errors["date"] = "Enter a real date, for example 2027-03-02"
    try:
        raw = values.get("time", "")
        if len(raw) != 5:
            raise ValueError(raw)
        at = time.fromisoformat(raw)
    except ValueError:
        errors["time"] = "Enter the time as HH:MM, for example 18:00"
    if not values.get("room"):
        errors["room"] = SESSION_WORDING["room"]
    if errors:
        return _session_page(group_id, session_id, values, errors, None, 422)
    zone = ZoneInfo(zone_of(group))
    moment = datetime.combine(day, at, tzinfo=zone)
    if day.isoformat() != one["date"] or at.strftime("%H:%M") != one["local_start"]:
        body["starts_at"] = moment.isoformat()
    if values["room"] != one.get("room"):
        body["room"] = values["room"]
    if not body:
        return redirect(url_for("groups.group_page", group_id=group_id), code=303)
    try:
        api().patch("skills-group", f"/v1/sessions/{segment(session_id)}", body)
    except ServiceRefused as exc:
        errors, form_error = forms.refusal(exc, SESSION_WORDING)
        if "starts_at" in exc.field_errors:
            errors["date"] = exc.field_errors["starts_at"]
            form_error = None if len(exc.field_errors) == 1 else form_error
        return _session_page(group_id, session_id, values, errors, form_error, 422)
    return redirect(url_for("groups.group_page", group_id=group_id, _anchor="calendar"), code=303)


@blp.post("/<group_id>/sessions/<session_id>/cancellation")
@roles(*RUNNING_GROUPS)
def cancel(group_id: str, session_id: str):
    values = forms.submitted()
    if not values.get("reason"):
        return _session_page(
            group_id, session_id, None, {"reason": SESSION_WORDING["reason"]}, None, 422
        )
    try:
        api().post(
            "skills-group",
            f"/v1/sessions/{segment(session_id)}/cancellation",
            {"reason": values["reason"]},
        )
    except ServiceRefused as exc:
        errors, form_error = forms.refusal(exc, SESSION_WORDING)
        return _session_page(group_id, session_id, None, errors, form_error, 422)
    return redirect(url_for("groups.group_page", group_id=group_id, _anchor="calendar"), code=303)
