"""Use cases of calendar feeds: a secret, revocable URL per group or facilitator.

A feed belongs to whoever made it: they and an operator list it and revoke it. It stops
answering (404, as a revoked or made-up one) once its clinician, or the clinician who made it,
is deactivated: intake's ``intake.clinician.deactivated.v1`` marks the read model, and each
fetch of the feed reads it (by ``_id``), so no feed outlives its clinician by a moment.
"""

from __future__ import annotations

import secrets
from typing import Any

from dbt_shared.auth import Principal
from dbt_shared.errors import InvalidInput, NotFound
from dbt_shared.ids import new_id
from dbt_shared.pagination import page
from skills_group.bootstrap import Components
from skills_group.domain import feeds
from skills_group.services.common import group_for, record_audit, zone_of

OVERSEEING = ("operator",)  # lists and revokes any site's feeds; others, their own


def create_feed(body: dict[str, Any], c: Components, principal: Principal) -> dict[str, Any]:
    """A feed of a group's sessions, or of every session a clinician facilitates. Answers the
    secret once (only its hash is kept): calendar apps cannot send bearer tokens."""
    if body.get("group_id"):
        group = group_for(c, body["group_id"], principal)
        site_id, target = group["site_id"], {"group_id": group["_id"]}
    elif body.get("clinician_id"):
        clinician = c.repositories.clinicians.get(body["clinician_id"])
        if clinician is None or not principal.can_act_on_site(clinician["site_id"]):
            raise InvalidInput.field("clinician_id", "No such clinician at your sites.")
        if clinician.get("active") is False:
            raise InvalidInput.field("clinician_id", "This clinician has been deactivated.")
        site_id, target = clinician["site_id"], {"clinician_id": clinician["_id"]}
    else:
        raise InvalidInput.field("group_id", "Name a group_id or a clinician_id.")
    secret = secrets.token_urlsafe(32)
    owner = c.repositories.clinicians.at_site(site_id, principal.subject)
    feed = {
        "_id": new_id(),
        "secret_hash": feeds.secret_hash(secret),
        "site_id": site_id,
        **target,
        "created_by": principal.subject,
        # the maker's clinician record at the site, if any: the feed ends with it
        "owner_clinician_id": owner["_id"] if owner else None,
        "created_at": c.clock.now(),
        "active": True,
    }
    c.repositories.feeds.insert(feed)
    record_audit(c, principal, "calendar_feed.create", "calendar_feed", feed["_id"], site_id)
    return {"id": feed["_id"], "secret": secret, **target}


def _view(feed: dict[str, Any]) -> dict[str, Any]:
    keep = ("site_id", "group_id", "clinician_id", "created_by", "created_at")
    return {"id": feed["_id"], **{k: feed.get(k) for k in keep}}


def list_feeds(args: dict[str, Any], c: Components, principal: Principal):
    """The feeds in use: the caller's own, or (an operator naming a site) the site's."""
    site_id = args.get("site_id")
    if site_id:
        principal.require_site(site_id)
    if site_id and principal.has_role(*OVERSEEING):
        # index: site_active (site_id, active, _id): a site's feeds in use, tens
        query: dict[str, Any] = {"site_id": site_id, "active": True}
    else:
        # index: owner_active (created_by, active, _id): one person's feeds in use, a few
        query = {"created_by": principal.subject, "active": True}
        if site_id:
            query["site_id"] = site_id
    items, cursor = page(c.repositories.feeds, query, limit=args["limit"], cursor=args["cursor"])
    scope = site_id or "*"
    record_audit(c, principal, "calendar_feed.list", "calendar_feed_list", scope, scope)
    return [_view(f) for f in items], cursor


def revoke_feed(feed_id: str, c: Components, principal: Principal) -> None:
    """Its maker or an operator revokes a feed; to anyone else it does not exist."""
    feed = c.repositories.feeds.get(feed_id)  # index: _id
    if (
        feed is None
        or not feed["active"]
        or not principal.can_act_on_site(feed["site_id"])
        or not (feed["created_by"] == principal.subject or principal.has_role(*OVERSEEING))
    ):
        raise NotFound("calendar feed")
    record_audit(c, principal, "calendar_feed.revoke", "calendar_feed", feed_id, feed["site_id"])
    c.repositories.feeds.save({**feed, "revoked_at": c.clock.now(), "active": False})


def _deactivated(c: Components, clinician_id: str | None) -> bool:
    if not clinician_id:
        return False
    clinician = c.repositories.clinicians.get(clinician_id)  # index: _id
    return clinician is not None and clinician.get("active") is False


def feed_calendar(secret: str, c: Components) -> bytes:
    """The feed behind a secret (``NotFound`` once revoked, once its clinician or its maker's
    clinician record is deactivated, or for a made-up one)."""
    # index: secret (secret_hash), unique
    found = c.repositories.feeds.find({"secret_hash": feeds.secret_hash(secret)}, limit=1)
    if not found or not found[0]["active"]:
        raise NotFound("calendar feed")
    feed = found[0]
    if _deactivated(c, feed.get("clinician_id")) or _deactivated(c, feed.get("owner_clinician_id")):
        raise NotFound("calendar feed")
    zone = zone_of(c, feed["site_id"])
    if feed.get("group_id"):
        group = c.repositories.groups.get(feed["group_id"])
        groups = {group["_id"]: group} if group else {}
        name = group["name"] if group else "Skills group"
    else:
        groups = {
            g["_id"]: g
            for g in c.repositories.groups_of(feed["site_id"])
            if feed["clinician_id"] in g["facilitator_ids"]
        }
        name = "Skills groups I facilitate"
    sessions = [s for gid in groups for s in c.repositories.calendar(gid)]
    sessions.sort(key=lambda s: s["starts_at"])
    return feeds.render(name, zone, groups, sessions, c.clock.now())
