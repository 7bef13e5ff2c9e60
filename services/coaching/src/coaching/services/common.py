"""What the use cases share: access to a client's data, the read models, settings, audit.

Access is denied unless a rule allows it: a client sees only themselves (token subject = client
id); a therapist their own clients (their clinician record is the client's therapist); the
site's coordinators and operators what the use case allows them. Anything else answers 404, so
another site's or another client's existence is not disclosed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from coaching.bootstrap import Components
from coaching.domain import rota
from dbt_shared.auth import Principal
from dbt_shared.clock import aware
from dbt_shared.errors import Forbidden, NotFound, StaleWrite, Unavailable
from dbt_shared.vocabulary import COORDINATING, SITE_STAFF

DEFAULT_CALLBACK_MINUTES = 30
DEFAULT_EMERGENCY_NUMBER = "988"
DEFAULT_LOAD_THRESHOLD_MINUTES = 120
DEFAULT_ACK_MINUTES = 15
DEFAULT_REQUEST_LIMIT_PER_HOUR = 6  # non-crisis requests a client may make per clock hour
DEFAULT_CRISIS_REPEAT_MINUTES = 5  # repeated crisis requests within this page once more at most
# Tries at a client's safety state before a request fails loudly (503): each conflict means
# another writer changed the client meanwhile, so the next try reads and decides again.
SAFETY_WRITE_ATTEMPTS = 8


def audit(c: Components, principal: Principal, action: str, kind: str, oid: str, site_id: str):
    c.repositories.audit.record(
        principal, action=action, object_type=kind, object_id=oid, site_id=site_id
    )


# -- who the caller is ---------------------------------------------------------------------------
def own_clinicians(c: Components, principal: Principal) -> list[dict[str, Any]]:
    """The caller's clinician records (one per site they work at); none for other callers."""
    if not principal.has_role(*SITE_STAFF):
        return []
    return [
        x
        for x in c.repositories.clinicians.of_subject(principal.subject)
        if principal.can_act_on_site(x["site_id"])
    ]


def acting_clinician(c: Components, principal: Principal, site_id: str) -> dict[str, Any]:
    """The caller's clinician record at ``site_id``; 403 for a caller who is not one there."""
    for clinician in own_clinicians(c, principal):
        if clinician["site_id"] == site_id:
            return clinician
    raise Forbidden("Only the site's clinicians may do this.")


def is_therapist_of(c: Components, principal: Principal, client: dict[str, Any]) -> bool:
    therapist = client.get("therapist_id")
    return bool(therapist) and any(x["_id"] == therapist for x in own_clinicians(c, principal))


def client_for(
    c: Components, client_id: str, principal: Principal, *, coordinators: bool = False
) -> dict[str, Any]:
    """The client, if the caller may see their data: the client themselves, their therapist,
    and (``coordinators``) the site's coordinators and operators. Otherwise 404."""
    client = c.repositories.client(client_id)
    if client is None:
        raise NotFound("client")
    if principal.has_role("client"):  # a client acts only on themselves (dbt_shared.auth)
        if principal.is_client_self(client_id):
            return client
        raise NotFound("client")
    if is_therapist_of(c, principal, client):
        return client
    if (
        coordinators
        and principal.holds_at(client["site_id"], *COORDINATING)  # there, not at any site
        and principal.can_act_on_site(client["site_id"])
    ):
        return client
    raise NotFound("client")


def the_client(c: Components, principal: Principal) -> dict[str, Any]:
    """The calling client's own record (role ``client``, subject = client id)."""
    if not principal.has_role("client"):
        raise Forbidden("Only a client may do this, for themselves.")
    client = c.repositories.client(principal.subject)
    if client is None:
        raise NotFound("client")
    return client


# -- a client's safety state (sealed: it is derived from diary content) ---------------------------
SAFETY_FIELD = "safety"


def safety_of(c: Components, client: dict[str, Any]) -> dict[str, Any]:
    """``suicide_urge_high`` (the last diary card's urge to suicide was 4 or more) and
    ``self_harm_at`` (when self-harm was last recorded), from the client's sealed state."""
    token = client.get(SAFETY_FIELD)
    state = (
        c.cipher.decrypt_json(token, record_id=client["_id"], field=SAFETY_FIELD) if token else {}
    )
    at = state.get("self_harm_at")
    return {
        "suicide_urge_high": bool(state.get("suicide_urge_high")),
        "self_harm_at": datetime.fromisoformat(at) if at else None,
        "last_card_date": state.get("last_card_date"),
    }


def with_safety(c: Components, client: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The client document with its safety state changed (and sealed again)."""
    state = {**safety_of(c, client), **changes}
    at = state["self_harm_at"]
    plain = {**state, "self_harm_at": at.isoformat() if at else None}
    sealed = c.cipher.encrypt_json(plain, record_id=client["_id"], field=SAFETY_FIELD)
    return {**client, SAFETY_FIELD: sealed}


def change_safety(c: Components, client: dict[str, Any], change) -> None:
    """Write a change to the client's safety state, or fail loudly: ``change(state)`` answers
    the fields to change (``None``: nothing to change) and is decided again on the current
    document after each conflict. A safety write never silently loses: after
    ``SAFETY_WRITE_ATTEMPTS`` conflicts it raises ``Unavailable`` (503) and nothing was
    written."""
    for _ in range(SAFETY_WRITE_ATTEMPTS):
        current = c.repositories.client(client["_id"])  # index: _id
        if current is None:
            raise NotFound("client")
        changes = change(safety_of(c, current))
        if not changes:
            return
        try:
            c.repositories.clients.save(with_safety(c, current, **changes))
            return
        except StaleWrite:
            continue
    raise Unavailable(
        "The safety record could not be written now; nothing was changed. Try again.",
        kind="safety-write-failed",
    )


def site_today(c: Components, site_id: str):
    """Today's date in the site's zone (UTC while the site is unknown here)."""
    from zoneinfo import ZoneInfo

    site = c.repositories.site(site_id)
    return c.clock.now().astimezone(ZoneInfo(site["timezone"] if site else "UTC")).date()


# -- settings ------------------------------------------------------------------------------------
def zone_of(c: Components, site_id: str) -> str:
    """The site's time zone; a site coaching has not learned of answers 404."""
    site = c.repositories.site(site_id)
    if site is None:
        raise NotFound("site")
    return site["timezone"]


def site_settings(c: Components, site_id: str) -> dict[str, Any]:
    """The site's coaching settings, the standard values where none were published."""
    return settings_of(c.repositories.settings.get(site_id))


def settings_of(stored: dict[str, Any] | None) -> dict[str, Any]:
    """Stored coaching settings (``None``: none published) with the standard values filled in."""
    stored = stored or {}
    return {
        "hours": stored["hours"]
        if stored.get("hours") is not None
        else [window_doc(w) for w in rota.DEFAULT_HOURS],
        "callback_minutes": stored.get("callback_minutes", DEFAULT_CALLBACK_MINUTES),
        "emergency_number": stored.get("emergency_number", DEFAULT_EMERGENCY_NUMBER),
        "load_threshold_minutes": stored.get(
            "load_threshold_minutes", DEFAULT_LOAD_THRESHOLD_MINUTES
        ),
        "request_limit_per_hour": stored.get(
            "request_limit_per_hour", DEFAULT_REQUEST_LIMIT_PER_HOUR
        ),
        "crisis_repeat_minutes": stored.get("crisis_repeat_minutes", DEFAULT_CRISIS_REPEAT_MINUTES),
    }


def program_settings(c: Components, client: dict[str, Any]) -> dict[str, Any]:
    program = c.repositories.program(client.get("program_id") or "") or {}
    settings = program.get("settings") or {}
    return {
        "ack_minutes": int(settings.get("coaching_ack_target_minutes", DEFAULT_ACK_MINUTES)),
        "twenty_four_hour_rule": bool(settings.get("twenty_four_hour_rule", True)),
    }


def window_doc(w: rota.Window) -> dict[str, Any]:
    doc = {"weekday": w.weekday, "start": w.start, "end": w.end}
    if w.clinician_id is not None:
        doc["clinician_id"] = w.clinician_id
    return doc


def windows(docs: list[dict[str, Any]]) -> list[rota.Window]:
    return [
        rota.Window(d["weekday"], d["start"], d["end"], d.get("clinician_id")) for d in docs or []
    ]


def availability(c: Components, site_id: str, settings: dict[str, Any] | None = None):
    """Everything ``rota.coverage`` and ``rota.on_call`` take for a site, after its zone;
    ``settings``: its coaching settings (``site_settings``) when the caller read them already."""
    return availability_of(
        settings if settings is not None else site_settings(c, site_id),
        c.repositories.rotas.get(site_id),
        c.repositories.overrides_of(site_id),
        c.repositories.time_off_of_site(site_id),
    )


def availability_of(settings, layers, overrides, time_off):
    """``availability`` from documents read already (the overview reads every site's at once):
    the site's settings, rota layers (``None``: none), overrides and time off in their order."""
    layers = layers or {}
    return (
        windows(settings["hours"]),
        windows(layers.get("primary", [])),
        windows(layers.get("backup", [])),
        [
            rota.Override(o["clinician_id"], o["role"], aware(o["from"]), aware(o["to"]))
            for o in overrides
        ],
        [rota.TimeOff(t["clinician_id"], aware(t["from"]), aware(t["to"])) for t in time_off],
    )


def emergency_route(number: str) -> dict[str, Any]:
    return {
        "number": number,
        "text": (
            f"If you are in danger or might act on an urge to harm yourself, call {number} "
            "(or your local emergency number) now. Coaching is not an emergency service."
        ),
    }
