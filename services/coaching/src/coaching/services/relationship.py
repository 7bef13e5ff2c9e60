"""The relationship: alliance check-ins and ruptures, shared goals, and the clinician's
coaching load outside business hours (therapist fatigue).

A check-in totals four ratings 0-10; a total below 36, or 5 or more below the client's own mean
of their last four, flags a rupture for the therapist to raise in the next session
(``coaching.alliance.rupture_flagged.v1``, ids only). Ratings and goal texts are sealed at rest.
"""

from __future__ import annotations

import uuid
from typing import Any

from coaching import events, metrics
from coaching.bootstrap import Components
from coaching.domain import relationship
from coaching.services.common import (
    COORDINATING,
    audit,
    aware,
    client_for,
    is_therapist_of,
    the_client,
    zone_of,
)
from dbt_shared.auth import Principal
from dbt_shared.errors import Forbidden, InvalidInput, NotFound, StaleWrite
from dbt_shared.ids import new_id
from dbt_shared.vocabulary import SITE_STAFF

RATINGS_FIELD = "ratings"
GOAL_TEXTS = ("title", "why", "note")


# -- alliance check-ins --------------------------------------------------------------------------
def _ratings(c: Components, checkin: dict[str, Any]) -> list[int]:
    return c.cipher.decrypt_json(checkin["sealed"], record_id=checkin["_id"], field=RATINGS_FIELD)


def check_in(body: dict[str, Any], c: Components, principal: Principal) -> dict[str, Any]:
    client = the_client(c, principal)
    for field, message in relationship.rating_errors(body["ratings"]):
        raise InvalidInput.field(field, message)
    ratings = [int(r) for r in body["ratings"]]
    previous = [sum(_ratings(c, x)) for x in c.repositories.checkins_of(client["_id"])]
    now = c.clock.now()
    checkin = {
        "_id": uuid.uuid4().hex,
        "client_id": client["_id"],
        "site_id": client["site_id"],
        "session_kind": body["session_kind"],
        "at": now,
    }
    checkin["sealed"] = c.cipher.encrypt_json(ratings, record_id=checkin["_id"], field="ratings")
    audit(
        c,
        principal,
        "alliance_checkin.write",
        "alliance_checkin",
        checkin["_id"],
        client["site_id"],
    )
    c.repositories.checkins.insert(checkin)
    reasons = relationship.rupture_reasons(ratings, previous)
    rupture = None
    if reasons:
        rupture = {
            "_id": uuid.uuid4().hex,
            "client_id": client["_id"],
            "site_id": client["site_id"],
            "therapist_id": client.get("therapist_id"),
            "checkin_id": checkin["_id"],
            "reasons": reasons,
            "flagged_at": now,
            "status": "open",
        }
        c.repositories.ruptures.insert(rupture, [events.rupture_flagged(rupture, c.clock)])
        metrics.RUPTURES.labels(client["site_id"]).inc()
    return {
        "id": checkin["_id"],
        "client_id": client["_id"],
        "session_kind": body["session_kind"],
        "at": now,
        "total": relationship.total(ratings),
        "rupture_id": rupture["_id"] if rupture else None,
    }


def _rupture_view(r: dict[str, Any]) -> dict[str, Any]:
    keep = ("client_id", "checkin_id", "reasons", "flagged_at", "status", "repaired_at")
    return {
        "id": r["_id"],
        **{k: r[k] for k in keep if k in r},
        "repaired_by": r.get("repaired_by"),
    }


def repair(rupture_id: str, body: dict[str, Any], c: Components, principal: Principal):
    rupture = c.repositories.ruptures.get(rupture_id)
    if rupture is None:
        raise NotFound("rupture")
    client = client_for(c, rupture["client_id"], principal, coordinators=True)
    if principal.has_role("client"):
        raise Forbidden("The therapist records that a rupture was discussed.")
    audit(c, principal, "rupture.repair", "rupture", rupture_id, client["site_id"])
    if rupture["status"] == "repaired":
        return _rupture_view(rupture)
    rupture.update(status="repaired", repaired_at=c.clock.now(), repaired_by=principal.subject)
    if body.get("note"):
        rupture["note"] = c.cipher.encrypt(body["note"], record_id=rupture_id, field="note")
    return _rupture_view(c.repositories.ruptures.save(rupture))


def alliance(client_id: str, c: Components, principal: Principal) -> dict[str, Any]:
    client = client_for(c, client_id, principal, coordinators=True)
    series = []
    for x in c.repositories.checkins_of(client_id):
        ratings = _ratings(c, x)
        series.append(
            {
                "id": x["_id"],
                "at": x["at"],
                "session_kind": x["session_kind"],
                "ratings": ratings,
                "total": relationship.total(ratings),
                # the client's own baseline this check-in was judged against
                "baseline": relationship.baseline([p["total"] for p in series]),
            }
        )
    ruptures = [
        # the repair's note (sealed at rest) shows to those who may read the alliance
        {
            **_rupture_view(r),
            "note": c.cipher.decrypt(r["note"], record_id=r["_id"], field="note")
            if r.get("note")
            else None,
        }
        for r in c.repositories.ruptures_of(client_id)
    ]
    audit(c, principal, "alliance.read", "client", client_id, client["site_id"])
    return {
        "client_id": client_id,
        "series": series,
        "open_ruptures": [r for r in ruptures if r["status"] == "open"],
        "repaired_ruptures": [r for r in ruptures if r["status"] == "repaired"],
    }


# -- shared goals --------------------------------------------------------------------------------
def _goal_writer(c: Components, client_id: str, principal: Principal) -> dict[str, Any]:
    client = client_for(c, client_id, principal, coordinators=True)
    if not principal.has_role("client") and not is_therapist_of(c, principal, client):
        raise Forbidden("Goals are written by the client and their therapist.")
    return client


def _goal_view(c: Components, goal: dict[str, Any]) -> dict[str, Any]:
    shown = {k: goal[k] for k in ("client_id", "target_date", "progress", "status", "created_at")}
    for name in GOAL_TEXTS:
        token = goal.get(name)
        shown[name] = c.cipher.decrypt(token, record_id=goal["_id"], field=name) if token else None
    shown["history"] = goal.get("history", [])
    return {"id": goal["_id"], **shown}


def goals(
    client_id: str, args: dict[str, Any], c: Components, principal: Principal
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the client's goals, oldest first, and the next page's cursor."""
    client = client_for(c, client_id, principal, coordinators=True)
    audit(c, principal, "goal.list", "client", client_id, client["site_id"])
    found, cursor = c.repositories.goals_page(client_id, limit=args["limit"], cursor=args["cursor"])
    return [_goal_view(c, g) for g in found], cursor


def add_goal(client_id: str, body: dict[str, Any], c: Components, principal: Principal):
    client = _goal_writer(c, client_id, principal)
    now = c.clock.now()
    goal_id = new_id()  # time-ordered: the goals' pages are in _id order, oldest first
    goal = {
        "_id": goal_id,
        "client_id": client_id,
        "site_id": client["site_id"],
        "target_date": body.get("target_date").isoformat() if body.get("target_date") else None,
        "progress": 0,
        "status": "active",
        "created_at": now,
        "history": [{"at": now, "by": principal.subject, "changed": ["created"]}],
    }
    for name in GOAL_TEXTS:
        if body.get(name):
            goal[name] = c.cipher.encrypt(body[name], record_id=goal_id, field=name)
    audit(c, principal, "goal.create", "goal", goal_id, client["site_id"])
    stored, _ = c.repositories.goals.insert(goal)
    return _goal_view(c, stored)


def change_goal(client_id: str, goal_id: str, body: dict[str, Any], c: Components, principal):
    client = _goal_writer(c, client_id, principal)
    goal = c.repositories.goals.get(goal_id)
    if goal is None or goal["client_id"] != client_id:
        raise NotFound("goal")
    changed = sorted(body)
    for name in ("progress", "status"):
        if name in body:
            goal[name] = body[name]
    if "note" in body:
        goal["note"] = c.cipher.encrypt(body["note"], record_id=goal_id, field="note")
    goal.setdefault("history", []).append(
        {"at": c.clock.now(), "by": principal.subject, "changed": changed}
    )
    audit(c, principal, "goal.update", "goal", goal_id, client["site_id"])
    try:
        stored = c.repositories.goals.save(goal)
    except StaleWrite:
        from dbt_shared.errors import Conflict

        raise Conflict("The goal changed meanwhile; read it again.", kind="stale") from None
    return _goal_view(c, stored)


# -- clinician load ------------------------------------------------------------------------------
def load(clinician_id: str, args: dict[str, Any], c: Components, principal: Principal):
    clinician = c.repositories.clinicians.get(clinician_id)
    if clinician is None or not principal.can_act_on_site(clinician["site_id"]):
        raise NotFound("clinician")
    own = principal.has_role(*SITE_STAFF) and clinician.get("subject") == principal.subject
    if not own and not principal.holds_at(clinician["site_id"], *COORDINATING):
        raise NotFound("clinician")
    zone = zone_of(c, clinician["site_id"])
    now = c.clock.now()
    weeks = args["weeks"]
    contacts = []
    for week in relationship.weekly_load([], zone, weeks, now):
        for x in c.repositories.contacts_in_week(clinician_id, week["week"]):
            contacts.append((aware(x["started_at"]), int(x["minutes"])))
    return {
        "clinician_id": clinician_id,
        "site_id": clinician["site_id"],
        "weeks": relationship.weekly_load(contacts, zone, weeks, now),
    }
