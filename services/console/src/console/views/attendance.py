"""Taking attendance at the door: one screen for a session, one control per member (present,
late with the minutes, absent, excused with a reason), each member saved as it is set.

With JavaScript, htmx posts a member's row when a control changes and swaps in the row the
console draws from skills-group's answer (the member's run of misses and the at-risk mark
after this very record); without it, each row is a plain form with its own Save button. Each
save sends that one member only, so two facilitators on the same sheet write different
members' records, and skills-group keeps the later of two writes to the same member: nothing
is lost. The member one miss from the program's limit is marked, their outreach one click away.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for

from console.client import ServiceRefused, segment
from console.names import client_names
from console.views import forms
from console.views.groups import module_name
from console.web import api, components, roles
from dbt_shared.vocabulary import RUNNING_GROUPS

blp = Blueprint("attendance", __name__, url_prefix="/groups")

STATUSES = (
    ("present", "Present"),
    ("late", "Late"),
    ("absent", "Absent"),
    ("excused", "Excused"),
)
WORDING = {
    "status": "Choose present, late, absent or excused",
    "minutes_late": "Enter how many minutes late",
    "reason": "Give the reason for the excused absence",
}


def _rows(roster: list[dict[str, Any]], names: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "client_id": r["client_id"],
            "enrollment_id": r["enrollment_id"],
            "name": names.get(r["client_id"], "A client"),
            "values": {
                "status": r.get("status") or "",
                "minutes_late": "" if r.get("minutes_late") is None else str(r["minutes_late"]),
                "reason": r.get("reason") or "",
            },
            "saved": r.get("status") is not None,
            "consecutive_misses": r.get("consecutive_misses", 0),
            "miss_limit": r.get("miss_limit"),
            "at_risk": bool(r.get("at_risk")),
            "member_status": "active",
            "errors": {},
        }
        for r in roster
    ]


def _sheet(group_id: str, session_id: str) -> dict[str, Any]:
    calls = api()
    gid, sid = segment(group_id), segment(session_id)
    found = calls.gather(
        group=lambda: calls.get("skills-group", f"/v1/groups/{gid}"),
        sessions=lambda: calls.get("skills-group", f"/v1/groups/{gid}/sessions"),
        roster=lambda: calls.get("skills-group", f"/v1/sessions/{sid}/roster"),
    )
    one = next((s for s in found["sessions"]["items"] if s["id"] == session_id), None)
    if one is None:
        raise ServiceRefused("skills-group", 404, {"detail": "No such session."})
    roster = found["roster"]["items"]  # one page: a session's seats
    ids = [r["client_id"] for r in roster]
    names = client_names(calls, ids)
    started = datetime.fromisoformat(one["starts_at"]) <= components().clock.now()
    return {
        "group": found["group"],
        "session": one,
        "rows": _rows(roster, names),
        "started": started,
    }


def _page(sheet: dict[str, Any], status: int = 200):
    return render_template(
        "groups/attendance.html",
        statuses=STATUSES,
        module_name=module_name,
        **sheet,
    ), status


@blp.get("/<group_id>/sessions/<session_id>/attendance")
@roles(*RUNNING_GROUPS)
def sheet(group_id: str, session_id: str):
    return _page(_sheet(group_id, session_id))


@blp.post("/<group_id>/sessions/<session_id>/attendance")
@roles(*RUNNING_GROUPS)
def record(group_id: str, session_id: str):
    """One member's record: htmx gets the member's row back, a plain form the whole sheet."""
    values = forms.submitted()
    row = {
        "client_id": values.get("client_id", ""),
        "enrollment_id": values.get("enrollment_id", ""),
        "name": values.get("name", "A client"),
        "values": {k: values.get(k, "") for k in ("status", "minutes_late", "reason")},
        "saved": False,
        "consecutive_misses": _int(values.get("consecutive_misses")) or 0,
        "miss_limit": _int(values.get("miss_limit")),
        "at_risk": values.get("at_risk") == "1",
        "member_status": "active",
        "errors": _check(values),
    }
    if not row["errors"]:
        try:
            answer = api().put(
                "skills-group",
                f"/v1/sessions/{segment(session_id)}/attendance",
                {"records": [_record(values)]},
            )
        except ServiceRefused as exc:
            if exc.status in (403, 404):
                raise
            row["errors"] = _row_errors(exc)
        else:
            _take(row, answer)
    if request.headers.get("HX-Request"):
        # 200 with the row, errors at its fields (htmx swaps only successful answers)
        return render_template(
            "groups/_attendance_row.html",
            row=row,
            statuses=STATUSES,
            group_id=group_id,
            session_id=session_id,
            started=True,
        )
    if not row["errors"]:
        return redirect(
            url_for(
                "attendance.sheet",
                group_id=group_id,
                session_id=session_id,
                _anchor=f"m-{row['enrollment_id']}",
            ),
            code=303,
        )
    sheet_now = _sheet(group_id, session_id)
    sheet_now["rows"] = [
        row if r["enrollment_id"] == row["enrollment_id"] else r for r in sheet_now["rows"]
    ]
    return _page(sheet_now, 422)


def _int(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() else None


def _check(values: dict[str, str]) -> dict[str, str]:
    """What the page can tell at once (the service checks the same again)."""
    status = values.get("status", "")
    if status not in dict(STATUSES):
        return {"status": WORDING["status"]}
    minutes = values.get("minutes_late", "")
    if status == "late" and not minutes:
        return {"minutes_late": WORDING["minutes_late"]}
    if status == "late" and not minutes.isdigit():
        return {"minutes_late": "Enter the minutes as a whole number, for example 10"}
    if status == "excused" and not values.get("reason"):
        return {"reason": WORDING["reason"]}
    return {}


def _record(values: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = {"client_id": values["client_id"], "status": values["status"]}
    if values["status"] == "late":
        body["minutes_late"] = int(values["minutes_late"])
    if values.get("reason") and values["status"] in ("late", "absent", "excused"):
        body["reason"] = values["reason"]
    return body


def _row_errors(exc: ServiceRefused) -> dict[str, str]:
    """The service's field paths (``records[0].minutes_late``) as the row's fields."""
    errors = {
        field.rsplit(".", 1)[-1]: message
        for field, message in exc.field_errors.items()
        if field.startswith("records")
    }
    return {k: v for k, v in errors.items() if k in WORDING} or {"status": exc.detail}


def _take(row: dict[str, Any], answer: dict[str, Any]) -> None:
    """The member's run and risk after this record, as skills-group counted them."""
    row["saved"] = True
    for member in answer.get("members") or []:
        if member["client_id"] == row["client_id"]:
            row["consecutive_misses"] = member["consecutive_misses"]
            row["at_risk"] = member["at_risk"]
            row["member_status"] = member["status"]
