"""Several clients' display names in one call, for a staff list page (one query, not a read per
row): only the clients the caller may see, each read on the audit trail."""

from __future__ import annotations

from typing import Any

from dbt_shared.auth import Principal
from intake.bootstrap import Components
from intake.domain.pipeline import ADMITTED
from intake.domain.referral import NAME_FIELDS, Referral
from intake.services.access import own_clinician_ids

#: A referral's fields a display name reads: the sealed names, and where and whose it is.
NAME_VIEW = {"site_id": 1, "status": 1, "therapist": 1, "program": 1, "client": 1}


def display_names(client_ids: list[str], c: Components, principal: Principal) -> list[dict]:
    """``{client_id, display_name}`` for each id the caller may see (a client of their sites; a
    therapist's own client; a facilitator's site's admitted clients), in the order asked; the
    others are left out as if unknown. One audit record per site shown names every client of it
    that was shown."""
    wanted = list(dict.fromkeys(client_ids))
    own = own_clinician_ids(c, principal)
    # referrals index: _id (at most 100: one list page's). Only what a name and its access
    # rule need: a referral carries its screenings, history and events besides, many times
    # the names' size, decoded for nothing on every row.
    found = c.repositories.referrals.find_ids(wanted, NAME_VIEW)
    visible: dict[str, Referral] = {}
    for state in found:
        referral = Referral(state)
        if not principal.can_act_on_site(referral.site_id):
            continue
        if (
            own is not None
            and referral.therapist_id not in own
            and not _in_groups(principal, referral)
        ):
            continue
        visible[referral.id] = referral
    shown_by_site: dict[str, list[str]] = {}
    for client_id in wanted:
        if client_id in visible:
            shown_by_site.setdefault(visible[client_id].site_id, []).append(client_id)
    for site_id, ids in sorted(shown_by_site.items()):  # before any name leaves the service
        # a list page of the site's clients
        c.repositories.audit.record_list(
            principal, "client.display_names", "client_list", site_id, ids
        )
    return [
        {"client_id": client_id, "display_name": _display_name(c, visible[client_id])}
        for client_id in wanted
        if client_id in visible
    ]


def clinician_names(ids: list[str], c: Components, principal: Principal) -> list[dict]:
    """``{clinician_id, site_id, display_name, subject}`` for each id at a site of the caller's
    (an operator: every site), in the order asked; the others are left out as if unknown. Staff
    details, not a client's: not on the audit trail (as a site's clinician list is not)."""
    found = []
    for clinician in c.repositories.clinicians.find_ids(ids):  # _id (at most 500)
        if principal.can_act_on_site(clinician["site_id"]):
            found.append(
                {
                    "clinician_id": clinician["_id"],
                    "site_id": clinician["site_id"],
                    "display_name": clinician.get("display_name", ""),
                    "subject": clinician.get("subject", ""),
                }
            )
    return found


def _in_groups(principal: Principal, referral: Referral) -> bool:
    """A facilitator at the site reads the names of its admitted clients (its groups'
    members, on their attendance sheets and rosters): names only, audited like the rest."""
    return referral.status == ADMITTED and "facilitator" in principal.roles_at(referral.site_id)


def row_names(c: Components, principal: Principal, rows: list[dict[str, Any]]) -> dict[str, str]:
    """The display names of a list page's rows, from the rows' sealed ``client_name``: one
    read for the page, not one per row; a row written without it, from its referral. Only the
    clients the caller sees at each site (a therapist there: their own). On the audit trail
    (one record per site naming its clients shown) before any name leaves the service."""
    by_site: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_site.setdefault(row["site_id"], []).append(row)
    shown: dict[str, list[str]] = {}
    for site_id, site_rows in sorted(by_site.items()):
        own = own_clinician_ids(c, principal, site_id)
        ids = [r["_id"] for r in site_rows if own is None or r.get("therapist_id") in own]
        if ids:
            shown[site_id] = ids
    ids = [i for site_ids in shown.values() for i in site_ids]
    sealed = {row["_id"]: row["client_name"] for row in rows if row.get("client_name")}
    missing = [i for i in ids if i not in sealed]
    for state in c.repositories.referrals.find_ids(missing, NAME_VIEW):
        sealed[state["_id"]] = state.get("client") or {}
    for site_id, site_ids in shown.items():
        c.repositories.audit.record_list(
            principal, "client.display_names", "client_list", site_id, site_ids
        )
    return {i: _unsealed(c, i, sealed[i]) for i in ids if i in sealed}


def _display_name(c: Components, referral: Referral) -> str:
    return _unsealed(c, referral.id, referral.state["client"])


def _unsealed(c: Components, referral_id: str, client: dict[str, Any]) -> str:
    names = [
        c.cipher.decrypt(client.get(name), record_id=referral_id, field=f"client.{name}")
        for name in NAME_FIELDS
    ]
    return " ".join(n for n in names if n)
