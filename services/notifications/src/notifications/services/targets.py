"""Whom a delivery goes to, on which channel, where: resolved at send time from intake's
contacts (nothing is stored), the recipient's preferences and the SMS opt-outs; and which
deliveries are never held (``at_once``: safety messages, crisis coaching, a request to the
clinician on call)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from dbt_shared.storage.context import together
from notifications.bootstrap import Components
from notifications.domain import preferences, sms, texts, windows
from notifications.domain.deliveries import PermanentFailure
from notifications.domain.recipients import NoRecipient, resolve_recipient

PEOPLE = ("client", "clinician")


@dataclass(frozen=True)
class Target:
    channel: str
    address: str
    zone: str
    quiet_hours: windows.Window | None
    fallback: bool = False


def at_once(delivery: dict[str, Any]) -> bool:
    return bool(delivery.get("at_once")) or delivery["purpose"] in texts.SAFETY_PURPOSES


def site_zone(c: Components, site_id: str) -> str:
    return c.repositories.site_zones.timezone_of(site_id) or "UTC"


def sms_window(c: Components, site_id: str) -> windows.Window:
    stored = c.repositories.site_settings(site_id).get("sms_window")
    start, end = (stored["start"], stored["end"]) if stored else windows.SMS_WINDOW
    return windows.Window(start, end)


def target_of(c: Components, delivery: dict[str, Any]) -> Target:
    kind = delivery["recipient_kind"]
    if kind not in PEOPLE:  # a site's intake address or clinical lead: email, as before
        site = c.contacts.site(delivery["site_id"])
        try:
            recipient = resolve_recipient(kind, site)
        except NoRecipient as exc:
            raise PermanentFailure(str(exc)) from exc
        quiet = c.quiet_hours.get("email")  # the platform's quiet hours for site mail, if any
        return Target(
            "email",
            recipient.address,
            site_zone(c, delivery["site_id"]),
            windows.Window(quiet.start.strftime("%H:%M"), quiet.end.strftime("%H:%M"))
            if quiet
            else None,
            recipient.fallback,
        )
    contact = c.contacts.person(kind, delivery["recipient_id"])
    addresses = {k: v for k, v in (contact.get("channels") or {}).items() if v}
    chosen = partial(c.repositories.preferences.get, delivery["recipient_id"])
    if addresses.get("sms"):
        # The recipient's choices and the number's STOP read at once (a page waits for one).
        read = together(c.storage, chosen=chosen, stopped=partial(opted_out, c, addresses["sms"]))
        stored, stopped = read["chosen"], read["stopped"]
    else:
        stored, stopped = chosen(), False
    prefs = preferences.merge(
        stored,
        preferences.defaults(
            kind,
            preferred_channel=contact.get("preferred_channel"),
            language=contact.get("language", "en"),
            timezone=contact.get("timezone"),
        ),
    )
    if stopped:
        prefs = {**prefs, "sms_opted_out": True}
    channel = delivery.get("channel")
    if channel is None:
        usable = preferences.channels_for(
            delivery["purpose"], prefs, available=set(addresses), at_once=at_once(delivery)
        )
        channel = next((x for x in usable if x != "inbox"), None)
        if channel is None and prefs.get("sms_opted_out"):
            raise PermanentFailure("the number opted out of SMS (STOP)")
        if channel is None:
            raise PermanentFailure("no channel this recipient takes for this purpose")
    if channel == "sms" and prefs.get("sms_opted_out"):
        raise PermanentFailure("the number opted out of SMS (STOP)")
    if not addresses.get(channel):
        raise PermanentFailure(f"no {channel} address for this recipient")
    quiet = prefs.get("quiet_hours")
    return Target(
        channel,
        addresses[channel],
        prefs.get("timezone") or contact.get("timezone") or site_zone(c, delivery["site_id"]),
        windows.Window(quiet["start"], quiet["end"]) if quiet else None,
    )


def opted_out(c: Components, number: str) -> bool:
    normal = sms.normalize_number(number)
    return (
        bool(normal)
        and c.repositories.opt_outs.get(sms.number_key(normal, c.number_pepper)) is not None
    )
