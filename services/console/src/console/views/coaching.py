"""The therapist's live coaching queue and their after-hours load.

**Live by htmx polling of a digest**, not server-sent events: the console learns of a new
request only by asking coaching (it consumes no events), so a stream would poll coaching on the
server anyway while holding a gunicorn worker per open tab. Instead the queue asks every
``POLL_MS`` for coaching's ``coaching-queue-version`` (one read of the requests in hand, index
``site_active``; no client data, no audit record) and answers 204, swapping nothing, while it
is unchanged; only a change reads the lists (audited) and redraws the queue. Nobody watching:
nothing runs. A poll is not the user's activity (``sessions.PASSIVE``): the idle end still comes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Response, g, redirect, render_template, request, url_for

from console.client import ServiceRefused, segment
from console.names import client_names
from console.sessions import PASSIVE
from console.web import api, components, current_user, roles
from dbt_shared.vocabulary import SITE_STAFF

blp = Blueprint("coaching", __name__, url_prefix="/coaching")

IN_HAND = ("open", "acknowledged", "called_back")
#: The queue's poll (ms): a request shows within this plus the POST and one round trip (target
#: p99 <= 1 s). At 800 ms the worst case (800 + a 100-200 ms POST + a poll) sat on the target;
#: 500 ms leaves room, and a poll answered 204 costs coaching one indexed read.
POLL_MS = 500
QUEUE_LIMIT = 100
STEPS = {"acknowledgement", "callback", "closure"}
OUTCOMES = [
    ("skills_coached", "Skills coached"),
    ("crisis_supported", "Crisis supported"),
    ("emergency_route_taken", "Emergency route taken"),
    ("no_answer", "No answer"),
    ("other", "Other"),
]
STATUS_NAMES = {
    "open": "Waiting",
    "acknowledged": "Acknowledged",
    "called_back": "Called back",
    "closed": "Closed",
}
DEADLINE_NAMES = {"acknowledgement": "acknowledgement", "callback": "call-back"}


def clinical_sites(calls) -> tuple[list[dict], str | None]:
    """The sites where the user does clinical work (names from intake) and the one chosen."""
    user = current_user()
    held = user.get("site_roles") or {}
    everywhere = "operator" in (user.get("roles") or [])
    sites = [
        s
        for s in calls.get("intake", "/v1/sites", limit=100)["items"]
        if everywhere or set(held.get(s["id"], ())) & set(SITE_STAFF)
    ]
    ids = [s["id"] for s in sites]
    wanted = request.values.get("site", "")
    return sites, wanted if wanted in ids else (ids or [None])[0]


def own_clinician(clinicians: list[dict]) -> dict | None:
    """The user's clinician record among a site's (matched on the token's subject)."""
    sub = current_user().get("sub")
    return next((x for x in clinicians if sub and x.get("subject") == sub), None)


# -- the queue -----------------------------------------------------------------------------------
@blp.get("")
@roles(*SITE_STAFF)
def queue():
    calls = api()
    sites, site_id = clinical_sites(calls)
    return render_template(
        "coaching/queue.html", sites=sites, site_id=site_id, **_queue(site_id, calls)
    )


@blp.get("/queue")
@roles(*SITE_STAFF)
def queue_rows():
    """The poll: 204 (nothing to swap) while the digest is the one the page holds."""
    g.setdefault(PASSIVE, True)
    site_id = request.args.get("site", "")
    calls = api()
    version = calls.get("coaching", f"/v1/sites/{segment(site_id)}/coaching-queue-version")
    if version["version"] == request.args.get("version"):
        return Response(status=204)
    return render_template(
        "coaching/_queue.html", site_id=site_id, **_queue(site_id, calls, version)
    )


def _queue(site_id: str | None, calls, version: dict | None = None) -> dict[str, Any]:
    if not site_id:
        return {"rows": [], "version": "", "poll_ms": POLL_MS}
    where = f"/v1/sites/{segment(site_id)}"
    found = calls.gather(
        # the poll read the digest already: the lists are read right after it
        version=lambda: version or calls.get("coaching", f"{where}/coaching-queue-version"),
        clinicians=lambda: calls.get("intake", f"{where}/clinicians"),
        **{
            status: (
                lambda status=status: calls.get(
                    "coaching",
                    "/v1/coaching-requests",
                    site_id=site_id,
                    status=status,
                    limit=QUEUE_LIMIT,
                )
            )
            for status in IN_HAND
        },
    )
    items = [r for status in IN_HAND for r in found[status]["items"]]
    names = {x["id"]: x.get("display_name") for x in found["clinicians"]["items"]}
    clients = names_or_none(calls, [r["client_id"] for r in items])
    now = components().clock.now()
    rows = [_row(r, names, clients, now) for r in items]
    # crisis first, then the oldest: what must be answered first is at the top
    rows.sort(key=lambda row: (not row["crisis"], row["created_at"] or ""))
    return {
        "rows": rows,
        "version": found["version"]["version"],
        "poll_ms": POLL_MS,
        "outcomes": OUTCOMES,
    }


def names_or_none(calls, client_ids: list[str]) -> dict[str, str]:
    """The clients' names, or none when intake refuses: the queue is shown without them."""
    try:
        return client_names(calls, client_ids)
    except ServiceRefused:
        return {}


def _row(r: dict, names: dict, clients: dict, now: datetime) -> dict[str, Any]:
    escalations = [
        {
            "deadline": DEADLINE_NAMES.get(h["what"].removeprefix("escalated_"), "deadline"),
            "level": h.get("level"),
            "to": names.get(h.get("to"))
            or ("the clinical lead" if not h.get("to") else "a clinician"),
            "at": h.get("at"),
        }
        for h in r.get("history") or []
        if str(h.get("what", "")).startswith("escalated_")
    ]
    deadlines = []
    if r["status"] == "open" and r.get("acknowledge_by"):
        deadlines.append(("Acknowledge by", r["acknowledge_by"]))
    if r["status"] in ("open", "acknowledged") and r.get("call_back_by"):
        deadlines.append(("Call back by", r["call_back_by"]))
    since = r.get("called_back_at") or r.get("acknowledged_at") or r.get("created_at")
    minutes = _minutes_since(since, now)
    return {
        **r,
        "crisis": bool(r.get("crisis")) or r.get("kind") == "crisis",
        "client_name": clients.get(r["client_id"]) or "Client",
        "routed_name": names.get(r.get("routed_to")) if r.get("routed_to") else None,
        "notified_names": [names.get(x) or "a clinician" for x in r.get("notified") or []],
        "status_name": STATUS_NAMES.get(r["status"], r["status"]),
        "deadlines": deadlines,
        "escalations": escalations,
        "minutes": max(1, minutes),
    }


def _minutes_since(when: str | None, now: datetime) -> int:
    try:
        return int((now - datetime.fromisoformat(when)).total_seconds() // 60) if when else 1
    except ValueError:
        return 1


@blp.post("/requests/<request_id>/<step>")
@roles(*SITE_STAFF)
def step(request_id: str, step: str):
    """Acknowledge, called back, close: one click each. htmx redraws the queue; without JS the
    page is drawn again."""
    if step not in STEPS:
        return redirect(url_for("coaching.queue"), code=303)
    site_id = request.form.get("site", "")
    body = None
    if step == "closure":
        minutes = request.form.get("duration_minutes", "")
        body = {
            "outcome": request.form.get("outcome") or "skills_coached",
            "duration_minutes": int(minutes) if minutes.isdigit() else minutes,
        }
    calls = api()
    message = None
    try:
        calls.post("coaching", f"/v1/coaching-requests/{segment(request_id)}/{step}", body)
    except ServiceRefused as exc:
        if exc.status not in (409, 422):
            raise
        message = next(iter(exc.field_errors.values()), None) or exc.detail
    if request.headers.get("HX-Request"):
        return render_template(
            "coaching/_queue.html", site_id=site_id, message=message, **_queue(site_id, calls)
        )
    if message:
        sites, _ = clinical_sites(calls)
        return render_template(
            "coaching/queue.html",
            sites=sites,
            site_id=site_id,
            message=message,
            **_queue(site_id, calls),
        ), 400
    return redirect(url_for("coaching.queue", site=site_id), code=303)


# -- my load ---------------------------------------------------------------------------------------
@blp.get("/load")
@roles(*SITE_STAFF)
def load():
    """After-hours contacts this week and month against the team's median: the clinician's
    own; a coordinator (the clinical lead's seat) picks any of the site's clinicians."""
    calls = api()
    sites, site_id = clinical_sites(calls)
    clinicians, chosen, figures = [], None, None
    if site_id:
        clinicians = calls.get("intake", f"/v1/sites/{segment(site_id)}/clinicians")["items"]
        leads = "coordinator" in (current_user().get("site_roles") or {}).get(site_id, ()) or (
            "operator" in (current_user().get("roles") or [])
        )
        wanted = request.args.get("clinician", "")
        mine = own_clinician(clinicians)
        if leads and wanted in {x["id"] for x in clinicians}:
            chosen = next(x for x in clinicians if x["id"] == wanted)
        else:
            chosen = mine
        if chosen:
            figures = calls.get("coaching", f"/v1/clinicians/{segment(chosen['id'])}/after-hours")
        if not leads:
            clinicians = []  # a clinician sees their own figures only
    return render_template(
        "coaching/load.html",
        sites=sites,
        site_id=site_id,
        clinicians=clinicians,
        chosen=chosen,
        figures=figures,
    )
