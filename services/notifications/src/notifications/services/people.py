"""People's side of notifications: the clinicians it learns of from intake (who a staff
caller is, for their own inbox), their preferences, the SMS opt-out (STOP / START from the
provider's webhook), a site's notification settings, and the delivery audit."""

from __future__ import annotations

import logging
from typing import Any

from dbt_shared.auth import Principal
from dbt_shared.clock import aware
from dbt_shared.errors import Forbidden, InvalidInput, NotFound, StaleWrite, Unavailable
from dbt_shared.storage import listing
from dbt_shared.vocabulary import COORDINATING, SITE_STAFF
from notifications.bootstrap import Components
from notifications.delivery_lists import (
    purpose_deliveries,
    recipient_deliveries,
    site_deliveries,
)
from notifications.domain import preferences, sms
from notifications.domain.deliveries import PermanentFailure, TransientFailure

log = logging.getLogger(__name__)


def on_clinician_registered(data: dict[str, Any], c: Components) -> None:
    """``intake.clinician.registered``: kept as every service keeps it (``read_models``)."""
    c.repositories.clinicians.register(data)


# -- preferences ---------------------------------------------------------------------------------
def _kind_of(c: Components, recipient_id: str, principal: Principal) -> tuple[str, str | None]:
    """(``client`` | ``clinician``, site id) of a recipient the caller may manage: themselves,
    or a person of a site the caller's staff role covers. Anyone else: 404."""
    if principal.has_role("client"):
        if not principal.is_client_self(recipient_id):
            raise NotFound("recipient")
        return "client", None
    clinician = c.repositories.clinicians.get(recipient_id)
    if clinician is not None:
        if principal.can_act_on_site(clinician["site_id"]) and principal.has_role(*SITE_STAFF):
            return "clinician", clinician["site_id"]
        raise NotFound("recipient")
    for enrollment in c.repositories.enrollments_of(recipient_id):
        if principal.can_act_on_site(enrollment["site_id"]) and principal.has_role(*SITE_STAFF):
            return "client", enrollment["site_id"]
    raise NotFound("recipient")


def get_preferences(recipient_id: str, c: Components, principal: Principal) -> dict[str, Any]:
    """The preferences in force: the recipient's choices over what they told intake (channel,
    language, the site's time zone), with the SMS opt-out a STOP from their number recorded."""
    kind, site = _kind_of(c, recipient_id, principal)
    contact = _told_intake(c, kind, recipient_id, site)
    _audit(c, principal, "preferences.read", recipient_id, site or contact.get("site_id"))
    return _view(c, recipient_id, kind, c.repositories.preferences.get(recipient_id), contact)


def put_preferences(recipient_id: str, body: dict[str, Any], c: Components, principal):
    """Change the fields ``body`` names (channels: the categories it names); every other field
    keeps its value. Read, change, save at the read revision: a concurrent change makes this
    one start again on the newer document, so neither is lost (on FerretDB too)."""
    kind, site = _kind_of(c, recipient_id, principal)
    for field, message in preferences.validate(body):
        raise InvalidInput.field(field, message)
    contact = _told_intake(c, kind, recipient_id, site)
    _audit(c, principal, "preferences.update", recipient_id, site or contact.get("site_id"))

    def change(current: dict[str, Any] | None) -> dict[str, Any]:
        kept = {k: v for k, v in (current or {}).items() if k not in preferences.CHOICES}
        return {**kept, "_id": recipient_id, "kind": kind, **preferences.changed(current, body)}

    stored = _change(c.repositories.preferences, recipient_id, change, "preferences")
    return _view(c, recipient_id, kind, stored, contact)


PUT_ATTEMPTS = 5


def _change(store, document_id: str, change, what: str) -> dict[str, Any]:
    """Read the document (index: _id), ``change`` it, save it at the revision read (insert it if
    there was none); a concurrent writer's change makes this one start again on the newer
    document, so a change that names some fields never loses another's (MongoDB and FerretDB
    alike: ``save`` compares the revision, under its lock on FerretDB). 409 after
    ``PUT_ATTEMPTS`` lost races."""
    for _ in range(PUT_ATTEMPTS):
        current = store.get(document_id)
        changed = change(current)  # keeps the revision read (``_rev``) for ``save`` to compare
        try:
            if current is None:
                stored, created = store.insert(changed)
                if created:
                    return stored
                continue  # stored by someone else meanwhile: change theirs
            return store.save(changed)
        except StaleWrite:
            continue
    raise StaleWrite(what)


def _told_intake(c: Components, kind: str, recipient_id: str, site: str | None) -> dict[str, Any]:
    """What intake answers now for the recipient (channels, preferred channel, language, the
    site's time zone), never kept. A recipient intake does not know: nothing, the site's zone
    where this service knows it."""
    try:
        return c.contacts.person(kind, recipient_id)
    except PermanentFailure:
        zone = c.repositories.site_zones.timezone_of(site) if site else None
        return {"timezone": zone} if zone else {}
    except TransientFailure as exc:
        # what the client told intake cannot be shown without it: 503, try again
        raise Unavailable("Intake did not answer; try again in a moment.") from exc


def _view(c: Components, recipient_id: str, kind: str, stored, contact) -> dict[str, Any]:
    prefs = preferences.in_force(kind, stored, contact)
    number = (contact.get("channels") or {}).get("sms")
    if number and opted_out(c, number):
        prefs["sms_opted_out"] = True  # the law: a STOP from their number holds whatever is set
    return {"recipient_id": recipient_id, **_shown(prefs)}


def opted_out(c: Components, number: str) -> bool:
    """Whether a STOP from ``number`` is recorded (its E.164 form's key; index: _id)."""
    try:
        key = sms.number_key(number, c.number_pepper)
    except ValueError:  # not a phone number: no STOP can have come from it
        return False
    return c.repositories.opt_outs.get(key) is not None


def _audit(c: Components, principal: Principal, action: str, object_id: str, site) -> None:
    """An access to a person's notification data, recorded before the answer."""
    c.repositories.audit.record(
        principal,
        action=action,
        object_type=action.split(".")[0],
        object_id=object_id,
        site_id=site or "",
    )


def _shown(prefs: dict[str, Any]) -> dict[str, Any]:
    return {k: prefs.get(k) for k in preferences.CHOICES}


# -- a site's settings ---------------------------------------------------------------------------
def put_site_settings(site_id: str, body: dict[str, Any], c: Components, principal: Principal):
    principal.require_site(site_id)
    if not principal.holds_at(site_id, *COORDINATING):  # at this site, not at any
        raise Forbidden("Only the site's coordinators may change its notification settings.")
    if c.repositories.site_zones.timezone_of(site_id) is None:
        raise NotFound("site")
    window = body.get("sms_window")
    if window and window["start"] >= window["end"]:
        raise InvalidInput.field("sms_window.end", "Must be later than start.")
    # Like preferences: what the body names changes, the rest (window or offsets) is kept.
    _change(
        c.repositories.settings,
        site_id,
        lambda current: {**(current or {}), "_id": site_id, "site_id": site_id, **body},
        "site settings",
    )
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
    """The provider's webhook: a signed ``From`` + ``Body`` (+ ``MessageSid``). STOP opts the
    number out of SMS, START opts it back in; anything else is ignored. A message whose
    ``MessageSid`` was handled before (the provider's retry, or a signed request replayed) does
    nothing: a replayed STOP cannot undo a later START. Answers the TwiML to send back.

    The sid is recorded after the effect, so a failure in between lets the provider's retry
    apply it (the same word again), and a STOP is never lost to a recorded but unapplied sid.
    """
    if not c.sms_auth_token or not sms.valid_signature(c.sms_auth_token, url, form, signature):
        raise Forbidden("The request is not signed by the SMS provider.")
    sid = sms.message_sid(form.get("MessageSid"))
    if sid is not None and c.repositories.inbound_sms.get(sid) is not None:  # index: _id
        log.info("an inbound SMS seen before was ignored")
        return "<Response/>"
    number = sms.e164(form.get("From", ""))
    word = sms.keyword(form.get("Body", ""))
    if number is not None and word is not None:
        key = sms.number_key(number, c.number_pepper)
        if word == "stop":
            if c.repositories.opt_outs.get(key) is None:  # index: _id
                c.repositories.opt_outs.insert({"_id": key, "since": c.clock.now()})
            log.info("a number opted out of SMS")
        else:
            c.repositories.opt_outs.delete(key)
            log.info("a number opted back in to SMS")
    if sid is not None:  # a unique _id: the same sid twice is one record
        c.repositories.inbound_sms.insert({"_id": sid, "at": c.clock.now()})
    return "<Response/>"


# -- the delivery audit --------------------------------------------------------------------------
def list_deliveries(args: dict[str, Any], c: Components, principal: Principal):
    """Every delivery, scheduled ones included, of a recipient or a site, oldest first, filtered
    by purpose (that purpose's own list) and status (within the list's buckets)."""
    filters = {k: args[k] for k in ("purpose", "status") if args.get(k)}
    if args.get("recipient_id"):
        _kind, site = _kind_of(c, args["recipient_id"], principal)
        if site is None and not principal.has_role("client"):
            raise NotFound("recipient")
        rid = args["recipient_id"]
        audited = ("delivery.list", rid, site)
        # index: recipient_deliveries (recipient_id, recipient_bucket, _id): one person's
        # deliveries, a bucket in about a year, the filters applied within
        lane = listing.Lane(
            {"recipient_id": rid, **filters}, recipient_deliveries(rid), "recipient_bucket"
        )
    elif args.get("site_id"):
        principal.require_site(args["site_id"])
        if not principal.holds_at(args["site_id"], *COORDINATING):
            raise Forbidden("The site's delivery audit is for its coordinators.")
        sid = args["site_id"]
        audited = ("delivery.list_site", sid, sid)
        lane = _site_lane(sid, filters)
    else:  # neither: the caller's own deliveries
        rid = _own_id(c, principal)
        if rid is None:
            return [], None
        audited = ("delivery.list", rid, None)
        lane = listing.Lane(
            {"recipient_id": rid, **filters}, recipient_deliveries(rid), "recipient_bucket"
        )
    items, cursor = c.repositories.deliveries.page(
        [lane], limit=args["limit"], cursor=args["cursor"]
    )
    _audit(
        c, principal, *audited
    )  # whose deliveries (purposes, times) were read, before the answer
    return [delivery_view(d, c.clock.now()) for d in items], cursor


def _site_lane(site_id: str, filters: dict[str, str]) -> listing.Lane:
    """A site's deliveries; with a purpose, that purpose's own list (index
    ``site_purpose_deliveries`` (site_id, purpose, site_purpose_bucket, _id)), else the whole
    list (index ``site_deliveries`` (site_id, site_bucket, _id)); a status applies within."""
    site = site_deliveries(site_id)
    if filters.get("purpose"):
        key = purpose_deliveries(site, filters["purpose"])
        return listing.Lane({"site_id": site_id, **filters}, key, "site_purpose_bucket")
    return listing.Lane({"site_id": site_id, **filters}, site, "site_bucket")


def _own_id(c: Components, principal: Principal) -> str | None:
    if principal.has_role("client"):
        return principal.subject
    found = c.repositories.clinicians.of_subject(principal.subject)
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
