"""People's side of notifications: their preferences, the SMS opt-out (STOP / START from the
provider's webhook), a site's notification settings, and the delivery audit."""

from __future__ import annotations

import logging
from typing import Any

from dbt_shared import documents, listing
from dbt_shared.auth import Principal
from dbt_shared.clock import aware
from dbt_shared.errors import Forbidden, InvalidInput, NotFound
from notifications.bootstrap import Components
from notifications.delivery_store import recipient_deliveries, site_deliveries
from notifications.domain import preferences, sms

log = logging.getLogger(__name__)
COORDINATING = ("operator", "coordinator")
STAFF = ("operator", "coordinator", "therapist", "facilitator")


# -- preferences ---------------------------------------------------------------------------------
def _kind_of(c: Components, recipient_id: str, principal: Principal) -> tuple[str, str | None]:
    """(``client`` | ``clinician``, site id) of a recipient the caller may manage: themselves,
    or a person of a site the caller's staff role covers. Anyone else: 404."""
    if principal.has_role("client"):
        if principal.subject != recipient_id:
            raise NotFound("recipient")
        return "client", None
    clinician = c.repositories.clinician(recipient_id)
    if clinician is not None:
        if principal.can_act_on_site(clinician["site_id"]) and principal.has_role(*STAFF):
            return "clinician", clinician["site_id"]
        raise NotFound("recipient")
    for enrollment in c.repositories.enrollments_of(recipient_id):
        if principal.can_act_on_site(enrollment["site_id"]) and principal.has_role(*STAFF):
            return "client", enrollment["site_id"]
    raise NotFound("recipient")


def get_preferences(recipient_id: str, c: Components, principal: Principal) -> dict[str, Any]:
    kind, _site = _kind_of(c, recipient_id, principal)
    stored = c.repositories.preferences.get(recipient_id)
    merged = preferences.merge(stored, preferences.defaults(kind))
    return {"recipient_id": recipient_id, **_shown(merged)}


def put_preferences(recipient_id: str, body: dict[str, Any], c: Components, principal):
    kind, _site = _kind_of(c, recipient_id, principal)
    merged = preferences.merge(body, preferences.defaults(kind))
    for field, message in preferences.validate(merged):
        raise InvalidInput.field(field, message)
    documents.put(c.repositories.preferences, {"_id": recipient_id, "kind": kind, **_shown(merged)})
    return {"recipient_id": recipient_id, **_shown(merged)}


def _shown(prefs: dict[str, Any]) -> dict[str, Any]:
    keys = ("channels", "preferred_channel", "language", "timezone", "quiet_hours", "sms_opted_out")
    return {k: prefs.get(k) for k in keys}


# -- a site's settings ---------------------------------------------------------------------------
def put_site_settings(site_id: str, body: dict[str, Any], c: Components, principal: Principal):
    principal.require_site(site_id)
    if not principal.has_role(*COORDINATING):
        raise Forbidden("Only the site's coordinators may change its notification settings.")
    if c.repositories.site_zones.timezone_of(site_id) is None:
        raise NotFound("site")
    window = body.get("sms_window")
    if window and window["start"] >= window["end"]:
        raise InvalidInput.field("sms_window.end", "Must be later than start.")
    doc = {"_id": site_id, "site_id": site_id, **body}
    documents.put(c.repositories.settings, doc)
    return site_settings(site_id, c, principal)


def site_settings(site_id: str, c: Components, principal: Principal) -> dict[str, Any]:
    principal.require_site(site_id)
    if c.repositories.site_zones.timezone_of(site_id) is None:
        raise NotFound("site")  # a site this service has not learned of
    from notifications.domain import windows
    from notifications.services.reminders import offsets

    stored = c.repositories.settings.get(site_id) or {}
    start, end = windows.SMS_WINDOW
    return {
        "site_id": site_id,
        "sms_window": stored.get("sms_window") or {"start": start, "end": end},
        "reminder_offsets_minutes": list(offsets(c, site_id)),
    }


# -- SMS opt-out ---------------------------------------------------------------------------------
def inbound_sms(url: str, form: dict[str, str], signature: str | None, c: Components) -> str:
    """The provider's webhook: a signed ``From`` + ``Body``. STOP opts the number out of SMS,
    START opts it back in; anything else is ignored. Answers the TwiML to send back."""
    if not c.sms_auth_token or not sms.valid_signature(c.sms_auth_token, url, form, signature):
        raise Forbidden("The request is not signed by the SMS provider.")
    number = sms.normalize_number(form.get("From", ""))
    word = sms.keyword(form.get("Body", ""))
    if number is None or word is None:
        return "<Response/>"
    key = sms.number_key(number, c.number_pepper)
    if word == "stop":
        if c.repositories.opt_outs.get(key) is None:
            c.repositories.opt_outs.insert({"_id": key, "since": c.clock.now()})
        log.info("a number opted out of SMS")
    else:
        c.repositories.opt_outs.delete(key)
        log.info("a number opted back in to SMS")
    return "<Response/>"


# -- the delivery audit --------------------------------------------------------------------------
def list_deliveries(args: dict[str, Any], c: Components, principal: Principal):
    """Every delivery, scheduled ones included, of a recipient or a site, oldest first, filtered
    by purpose and status within the list's buckets."""
    filters = {k: args[k] for k in ("purpose", "status") if args.get(k)}
    if args.get("recipient_id"):
        _kind, site = _kind_of(c, args["recipient_id"], principal)
        if site is None and not principal.has_role("client"):
            raise NotFound("recipient")
        rid = args["recipient_id"]
        # index: recipient_deliveries (recipient_id, recipient_bucket, _id)
        lane = listing.Lane(
            {"recipient_id": rid, **filters}, recipient_deliveries(rid), "recipient_bucket"
        )
    elif args.get("site_id"):
        principal.require_site(args["site_id"])
        if not principal.has_role(*COORDINATING):
            raise Forbidden("The site's delivery audit is for its coordinators.")
        sid = args["site_id"]
        # index: site_deliveries (site_id, site_bucket, _id)
        lane = listing.Lane({"site_id": sid, **filters}, site_deliveries(sid), "site_bucket")
    else:  # neither: the caller's own deliveries
        rid = _own_id(c, principal)
        if rid is None:
            return [], None
        lane = listing.Lane(
            {"recipient_id": rid, **filters}, recipient_deliveries(rid), "recipient_bucket"
        )
    items, cursor = c.repositories.deliveries.page(
        [lane], limit=args["limit"], cursor=args["cursor"]
    )
    return [delivery_view(d, c.clock.now()) for d in items], cursor


def _own_id(c: Components, principal: Principal) -> str | None:
    if principal.has_role("client"):
        return principal.subject
    found = c.repositories.clinicians_of_subject(principal.subject)
    return found[0]["_id"] if found else None


def delivery_view(d: dict[str, Any], now) -> dict[str, Any]:
    status = d["status"]
    held = d.get("held_until")
    if status == "pending" and held is not None and aware(held) > now:
        status = "held"
    return {
        "id": d["_id"],
        "purpose": d["purpose"],
        "channel": d.get("channel"),
        "recipient_kind": d["recipient_kind"],
        "recipient_id": d.get("recipient_id"),
        "site_id": d["site_id"],
        "session_id": d.get("session_id"),
        "status": status,
        "due_at": d.get("due_at") or d.get("created_at"),
        "sent_at": d.get("sent_at"),
        "attempts": d.get("attempts_log", []),
    }
