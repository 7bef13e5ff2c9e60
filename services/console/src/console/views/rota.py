"""The on-call rota: a site's week as a timeline (who is primary and backup through the
coaching hours, the user's own shifts, overrides, time off), the gaps marked before they
happen, and an override or time off entered in a few clicks.

Coaching computes the coverage (``GET /v1/sites/{id}/coverage``, UTC instants) per local date
in the site's zone; this page only cuts it at local midnights for display, so the night the
clocks change shows each stretch once, at the wall times it really has.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, redirect, render_template, request, url_for

from console.client import ServiceRefused, segment
from console.views.coaching import clinical_sites, own_clinician
from console.web import api, components, current_user, roles
from dbt_shared.vocabulary import SITE_STAFF

blp = Blueprint("rota", __name__, url_prefix="/rota")

DAYS = 7
ROLE_NAMES = {"primary": "Primary", "backup": "Backup"}


def _parse_day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@blp.get("")
@roles(*SITE_STAFF)
def week(errors: dict | None = None, values: dict | None = None, status: int = 200):
    calls = api()
    sites, site_id = clinical_sites(calls)
    if not site_id:
        return render_template("rota/week.html", sites=sites, site_id=None, days=[])
    first = _parse_day(request.values.get("from"))
    where = f"/v1/sites/{segment(site_id)}"
    found = calls.gather(
        coverage=lambda: calls.get(
            "coaching",
            f"{where}/coverage",
            **(
                {"from": first.isoformat(), "to": (first + timedelta(days=DAYS - 1)).isoformat()}
                if first
                else {}
            ),
        ),
        rota=lambda: calls.get("coaching", f"{where}/rota"),
        clinicians=lambda: calls.get("intake", f"{where}/clinicians"),
    )
    coverage, layers = found["coverage"], found["rota"]
    clinicians = found["clinicians"]["items"]
    names = {x["id"]: x.get("display_name") or "A clinician" for x in clinicians}
    zone = ZoneInfo(coverage["timezone"])
    now = components().clock.now()
    me = own_clinician(clinicians)
    first = first or now.astimezone(zone).date()
    days = [_day(first + timedelta(days=n), zone, coverage, names, me, now) for n in range(DAYS)]
    user = current_user()
    coordinating = "operator" in (user.get("roles") or []) or "coordinator" in (
        (user.get("site_roles") or {}).get(site_id, ())
    )
    local = lambda text: _at(text).astimezone(zone).strftime("%a %d %b %H:%M")  # noqa: E731
    return render_template(
        "rota/week.html",
        sites=sites,
        site_id=site_id,
        timezone=coverage["timezone"],
        first=first,
        previous=(first - timedelta(days=DAYS)).isoformat(),
        next=(first + timedelta(days=DAYS)).isoformat(),
        days=days,
        upcoming_gaps=sum(1 for d in days for gap in d["gaps"] if gap["ahead"]),
        overrides=[
            {
                **o,
                "name": names.get(o["clinician_id"]),
                "from_local": local(o["from"]),
                "to_local": local(o["to"]),
                "mine": bool(me and o["clinician_id"] == me["id"]),
            }
            for o in layers.get("overrides") or []
        ],
        time_off=[
            {
                **t,
                "name": names.get(t["clinician_id"]),
                "from_local": local(t["from"]),
                "to_local": local(t["to"]),
                "mine": bool(me and t["clinician_id"] == me["id"]),
            }
            for t in layers.get("time_off") or []
        ],
        clinicians=clinicians,
        me=me,
        coordinating=coordinating,
        role_names=ROLE_NAMES,
        errors=errors or {},
        values=values or {"date": first.isoformat()},
    ), status


def _day(day: date, zone: ZoneInfo, coverage: dict, names: dict, me, now: datetime) -> dict:
    """One local date: the stretches of coaching hours within it (cut at local midnights), as
    rows and as the timeline's bars (percent of the day's real length: 23 or 25 hours on the
    nights the clocks change)."""
    # in UTC: two datetimes of one zone subtract as wall times (a 25-hour night would be 24)
    start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    length = (end - start).total_seconds()
    mine = me["id"] if me else None

    def cut(item: dict) -> tuple[datetime, datetime] | None:
        lo, hi = max(_at(item["start"]), start), min(_at(item["end"]), end)
        return (lo, hi) if lo < hi else None

    def bar(lo: datetime, hi: datetime) -> dict[str, Any]:
        return {
            "x": round((lo - start).total_seconds() / length * 100, 3),
            "width": round((hi - lo).total_seconds() / length * 100, 3),
        }

    def wall(instant: datetime, closing: bool = False) -> str:
        text = instant.astimezone(zone).strftime("%H:%M")
        return "24:00" if closing and instant == end else text

    spans = []
    for s in coverage.get("timeline") or []:
        piece = cut(s)
        if piece:
            lo, hi = piece
            spans.append(
                {
                    "from": wall(lo),
                    "to": wall(hi, closing=True),
                    "primary": names.get(s["primary"]) if s["primary"] else None,
                    "backup": names.get(s["backup"]) if s["backup"] else None,
                    "mine": mine is not None and mine in (s["primary"], s["backup"]),
                    "my_role": "primary" if mine and s["primary"] == mine else "backup",
                    **bar(lo, hi),
                }
            )
    gaps = []
    for gap in coverage.get("gaps") or []:
        piece = cut(gap)
        if piece:
            lo, hi = piece
            gaps.append(
                {
                    "from": wall(lo),
                    "to": wall(hi, closing=True),
                    "missing": gap["missing"],
                    "ahead": hi > now,  # still to come or under way: it can be filled
                    **bar(lo, hi),
                }
            )
    return {
        "date": day,
        "label": day.strftime("%A %d %B"),
        "spans": spans,
        "gaps": gaps,
        "hours": round(length / 3600),
    }


def _instant(day: str, hhmm: str, zone: ZoneInfo) -> str | None:
    """A local date and wall time as an ISO instant in the site's zone (``24:00``: the next
    midnight; a time the clocks skip maps forward, a repeated one is its first occurrence, as
    coaching's rota does)."""
    try:
        when = date.fromisoformat(day)
        if hhmm == "24:00":
            when, hhmm = when + timedelta(days=1), "00:00"
        return datetime.combine(when, time.fromisoformat(hhmm), tzinfo=zone).isoformat()
    except ValueError:
        return None


def _span_from_form(zone: ZoneInfo) -> tuple[dict[str, Any], dict[str, str]]:
    form = request.form
    errors = {}
    start = _instant(form.get("date", ""), form.get("start", ""), zone)
    end = _instant(form.get("end_date") or form.get("date", ""), form.get("end", ""), zone)
    if start is None:
        errors["from"] = "Enter the day and the start time, for example 17:00"
    if end is None:
        errors["to"] = "Enter the end time, for example 24:00"
    return {"from": start, "to": end}, errors


@blp.post("/overrides")
@roles(*SITE_STAFF)
def add_override():
    """A swap or cover: this clinician takes the role for these hours (the site's
    coordinators; coaching decides)."""
    return _submit("override")


@blp.post("/time-off")
@roles(*SITE_STAFF)
def add_time_off():
    """Time off: the clinician is never on call meanwhile (the clinician, or a coordinator)."""
    return _submit("time_off")


def _submit(kind: str):
    calls = api()
    site_id = request.form.get("site", "")
    try:  # the site's zone, drawn into the form with the page (coaching checks the instants)
        zone = ZoneInfo(request.form.get("timezone", ""))
    except (ValueError, KeyError):
        zone = ZoneInfo("UTC")
    body, errors = _span_from_form(zone)
    clinician_id = request.form.get("clinician_id", "")
    if not errors:
        try:
            if kind == "override":
                calls.post(
                    "coaching",
                    f"/v1/sites/{segment(site_id)}/rota/overrides",
                    {**body, "clinician_id": clinician_id, "role": request.form.get("role", "")},
                )
            else:
                calls.post("coaching", f"/v1/clinicians/{segment(clinician_id)}/time-off", body)
        except ServiceRefused as exc:
            if exc.status not in (403, 422):
                raise
            errors = exc.field_errors or {"from": exc.detail}
    if errors:
        return week(errors=errors, values=dict(request.form), status=400)
    return redirect(
        url_for("rota.week", site=site_id, **{"from": request.form.get("date")}), code=303
    )
