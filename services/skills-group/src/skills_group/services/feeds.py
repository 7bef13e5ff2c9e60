"""Use cases of calendar feeds: a secret, revocable URL per group or facilitator."""

from __future__ import annotations

import secrets
from typing import Any

from dbt_shared.auth import Principal
from dbt_shared.errors import InvalidInput, NotFound
from dbt_shared.ids import new_id
from skills_group.bootstrap import Components
from skills_group.domain import feeds
from skills_group.services.common import _audit, _group, _zone


def create_feed(body: dict[str, Any], c: Components, principal: Principal) -> dict[str, Any]:
    """A feed of a group's sessions, or of every session a clinician facilitates. Answers the
    secret once (only its hash is kept): calendar apps cannot send bearer tokens."""
    if body.get("group_id"):
        group = _group(c, body["group_id"], principal)
        site_id, target = group["site_id"], {"group_id": group["_id"]}
    elif body.get("clinician_id"):
        clinician = c.repositories.clinician(body["clinician_id"])
        if clinician is None or not principal.can_act_on_site(clinician["site_id"]):
            raise InvalidInput.field("clinician_id", "No such clinician at your sites.")
        site_id, target = clinician["site_id"], {"clinician_id": clinician["_id"]}
    else:
        raise InvalidInput.field("group_id", "Name a group_id or a clinician_id.")
    secret = secrets.token_urlsafe(32)
    feed = {
        "_id": new_id(),
        "secret_hash": feeds.secret_hash(secret),
        "site_id": site_id,
        **target,
        "created_by": principal.subject,
        "created_at": c.clock.now(),
    }
    c.repositories.feeds.insert(feed)
    _audit(c, principal, "calendar_feed.create", "calendar_feed", feed["_id"], site_id)
    return {"id": feed["_id"], "secret": secret, **target}


def revoke_feed(feed_id: str, c: Components, principal: Principal) -> None:
    feed = c.repositories.feeds.get(feed_id)
    if feed is None or feed.get("revoked_at") or not principal.can_act_on_site(feed["site_id"]):
        raise NotFound("calendar feed")
    c.repositories.feeds.save({**feed, "revoked_at": c.clock.now()})
    _audit(c, principal, "calendar_feed.revoke", "calendar_feed", feed_id, feed["site_id"])


def feed_calendar(secret: str, c: Components) -> bytes:
    """The feed behind a secret (``NotFound`` once revoked, or for a made-up one)."""
    found = c.repositories.feeds.find({"secret_hash": feeds.secret_hash(secret)}, limit=1)
    if not found or found[0].get("revoked_at"):
        raise NotFound("calendar feed")
    feed = found[0]
    zone = _zone(c, feed["site_id"])
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
