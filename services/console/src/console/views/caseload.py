"""The therapist's caseload and a client's page: the diary card week and the alliance as charts
(each with its table for screen readers), the shared goals edited together, attendance, and
the 24-hour rule's state.

Clients are addressed by their ids (opaque); their names appear only in the page's body, from
one display-names call per page. Every read below is audited by the owning service.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for

from console.client import ServiceRefused, ServiceUnavailable, segment
from console.domain import charts
from console.views.coaching import names_or_none
from console.web import api, roles

blp = Blueprint("caseload", __name__, url_prefix="/caseload")

GOAL_STATUSES = [("active", "Active"), ("achieved", "Achieved"), ("dropped", "Dropped")]
GOALS_SHOWN = 200  # coaching's largest page of goals: a client's page shows that many at most


@blp.get("")
@roles("therapist")
def caseload():
    calls = api()
    found = calls.gather(
        caseload=lambda: calls.get("coaching", "/v1/caseload"),
        sites=lambda: calls.get("intake", "/v1/sites", limit=100),
    )
    items = found["caseload"]["items"]
    names = names_or_none(calls, [x["client_id"] for x in items])
    sites = {s["id"]: s["name"] for s in found["sites"]["items"]}
    rows = sorted(
        (
            {**x, "name": names.get(x["client_id"]) or "Client", "site": sites.get(x["site_id"])}
            for x in items
        ),
        # who needs attention first: the 24-hour rule running, then open ruptures
        key=lambda x: (
            not x["twenty_four_hour_rule"]["active"],
            -x["open_ruptures"],
            x["name"].casefold(),
        ),
    )
    return render_template("caseload/list.html", rows=rows)


@blp.get("/<client_id>")
@roles("therapist")
def client(client_id: str, goal_errors: dict | None = None, status: int = 200):
    calls = api()
    cid = segment(client_id)
    week = request.args.get("week", "")
    found = calls.gather(
        diary=lambda: calls.get("coaching", f"/v1/clients/{cid}/diary-cards", week=week),
        alliance=lambda: calls.get("coaching", f"/v1/clients/{cid}/alliance"),
        goals=lambda: calls.get("coaching", f"/v1/clients/{cid}/goals", limit=GOALS_SHOWN),
        rule=lambda: calls.get("coaching", f"/v1/clients/{cid}/twenty-four-hour-rule"),
        attendance=lambda: _attendance(calls, cid),
    )
    name = names_or_none(calls, [client_id]).get(client_id) or "Client"
    diary = charts.diary_week(found["diary"])
    alliance = charts.alliance(found["alliance"])
    return render_template(
        "caseload/client.html",
        client_id=client_id,
        name=name,
        diary=diary,
        alliance=alliance,
        goals=found["goals"]["items"],
        more_goals=found["goals"]["next_cursor"] is not None,
        rule=found["rule"],
        attendance=found["attendance"],
        week=found["diary"]["week"],
        previous_week=charts.shift_week(found["diary"]["week"], -1),
        next_week=charts.shift_week(found["diary"]["week"], 1),
        goal_statuses=GOAL_STATUSES,
        goal_errors=goal_errors or {},
    ), status


def _attendance(calls, cid: str) -> dict[str, Any] | None:
    """Skills group attendance; a client in no group (404) or skills-group down shows none."""
    try:
        return calls.get("skills-group", f"/v1/clients/{cid}/attendance")
    except (ServiceRefused, ServiceUnavailable):
        return None


def _goal_body(form) -> dict[str, Any]:
    """Only what the therapist changed (the form carries the values it was drawn with), so the
    goal's history says who changed what, not every field each time."""
    body: dict[str, Any] = {}
    progress = form.get("progress", "").strip()
    if progress and progress != form.get("progress_was"):
        body["progress"] = int(progress) if progress.isdigit() else progress
    if form.get("status") and form["status"] != form.get("status_was"):
        body["status"] = form["status"]
    if form.get("note", "").strip():
        body["note"] = form["note"]
    return body


@blp.post("/<client_id>/goals")
@roles("therapist")
def add_goal(client_id: str):
    body = {"title": request.form.get("title", "")}
    if request.form.get("why", "").strip():
        body["why"] = request.form["why"]
    return _goal_write(
        client_id,
        lambda calls: calls.post("coaching", f"/v1/clients/{segment(client_id)}/goals", body),
        "new",
    )


@blp.post("/<client_id>/goals/<goal_id>")
@roles("therapist")
def change_goal(client_id: str, goal_id: str):
    body = _goal_body(request.form)
    if not body:  # nothing changed: nothing to send, nothing in the goal's history
        return redirect(url_for("caseload.client", client_id=client_id) + "#goals", code=303)
    return _goal_write(
        client_id,
        lambda calls: calls.patch(
            "coaching", f"/v1/clients/{segment(client_id)}/goals/{segment(goal_id)}", body
        ),
        goal_id,
    )


def _goal_write(client_id: str, write, key: str):
    try:
        write(api())
    except ServiceRefused as exc:
        if exc.status not in (409, 422):
            raise
        message = (
            "Someone changed this goal meanwhile: it is shown as it is now. Make your change again."
            if exc.status == 409
            else next(iter(exc.field_errors.values()), None) or exc.detail
        )
        return client(
            client_id, goal_errors={key: message}, status=409 if exc.status == 409 else 400
        )
    return redirect(url_for("caseload.client", client_id=client_id) + "#goals", code=303)


@blp.post("/<client_id>/ruptures/<rupture_id>/repair")
@roles("therapist")
def repair(client_id: str, rupture_id: str):
    """The rupture was talked through: coaching records the repair and the note (sealed)."""
    body = {"note": request.form["note"]} if request.form.get("note", "").strip() else {}
    api().post("coaching", f"/v1/ruptures/{segment(rupture_id)}/repair", body)
    return redirect(url_for("caseload.client", client_id=client_id) + "#alliance", code=303)
