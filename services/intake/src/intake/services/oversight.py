"""Use cases of oversight: contact channels at send time, the waitlist, the audit trail."""

from __future__ import annotations

from typing import Any

from dbt_shared.auth import Principal
from dbt_shared.errors import NotFound
from dbt_shared.storage import listing
from intake.bootstrap import Components
from intake.domain import pipeline
from intake.repository import site_list, waitlist_head
from intake.services import lookups
from intake.services.referrals import client_details


def contact_for(client_id: str, c: Components, principal: Principal) -> dict[str, Any]:
    """What notifications needs at send time (``service`` role): channels, preference,
    language, time zone. The client id is the referral id."""
    referral = c.repositories.referral(client_id)
    if referral is None:
        raise NotFound("client")
    client = client_details(c, referral)
    site = c.repositories.site(referral.site_id)
    c.repositories.audit.record(
        principal,
        action="client.contact_read",
        object_type="client",
        object_id=client_id,
        site_id=referral.site_id,
    )
    # stored in E.164 (``organisation.e164``): the provider's STOP names it that way
    number = client.get("phone")
    return {
        "client_id": client_id,
        "site_id": referral.site_id,
        "channels": {k: v for k, v in (("email", client["email"]), ("sms", number)) if v},
        "preferred_channel": client.get("preferred_channel", "email"),
        "language": client.get("language", "en"),
        "timezone": site["timezone"] if site else "UTC",
    }


def clinician_contact_for(clinician_id: str, c: Components, principal: Principal) -> dict[str, Any]:
    """A clinician's work channels at send time (``service`` role): email and phone as intake
    holds them (either may be missing), and the site's time zone."""
    clinician = c.repositories.clinicians.get(clinician_id)  # index: _id
    if clinician is None:
        raise NotFound("clinician")
    site = c.repositories.site(clinician["site_id"])
    channels = {
        k: v for k, v in (("email", clinician.get("email")), ("sms", clinician.get("phone"))) if v
    }
    return {
        "clinician_id": clinician_id,
        "site_id": clinician["site_id"],
        "channels": channels,
        "timezone": site["timezone"] if site else "UTC",
    }


def waitlist(args: dict[str, Any], c: Components, principal: Principal) -> dict[str, Any]:
    """Who is waiting at which stage and for how many days, oldest first."""
    site_id = args["site_id"]
    principal.require_site(site_id)
    program = {"program": args["program"]} if args.get("program") else {}
    # rows index: site_list (site_id, site_bucket, _id), from the waitlist's head: referrals
    # leave the waitlist from the front, so the buckets before the head hold none
    lane = listing.Lane(
        {"site_id": site_id, "waiting": True, **program},
        site_list(site_id),
        "site_bucket",
        head_key=waitlist_head(site_id),
    )
    items, cursor = listing.page(
        c.repositories.rows,
        [lane],
        c.repositories.sequences,
        limit=args["limit"],
        cursor=args["cursor"],
        clock=c.clock,
    )
    now = c.clock.now()
    counts = c.repositories.waiting_counts(site_id, args.get("program"))
    stages = [{"stage": stage, "count": counts[stage]} for stage in pipeline.WAITING_STAGES]
    c.repositories.audit.record_list(principal, "waitlist.read", "waitlist", site_id)
    names = lookups.row_names(c, principal, items)  # (a coordinator's: every name)
    for item in items:
        item["waiting_days"] = pipeline.waiting_days(item["received_at"], now)
        item["display_name"] = names.get(item["_id"])
    return {"site_id": site_id, "stages": stages, "items": items, "next_cursor": cursor}


def waitlist_sizes(c: Components) -> dict[tuple[str, str], int]:
    """Waitlist size per site and stage, every stage of every known site (zeros included)."""
    sizes = {}
    for site_id in c.repositories.site_ids():
        counts = c.repositories.waiting_counts(site_id)
        sizes.update({(site_id, stage): counts[stage] for stage in pipeline.WAITING_STAGES})
    return sizes


def reconcile_tallies(c: Components) -> None:
    """Recount the waitlist stages and caseloads of the sites whose referrals changed since the
    recount before, or in the last day at the first run after a start (the hourly timer): a
    tally can be off only where a change was made."""
    c.repositories.reconcile_changed_sites()


def audit_trail(args: dict[str, Any], c: Components) -> tuple[list[dict[str, Any]], str | None]:
    """The audit trail of access to client data, oldest first, with filters (operators)."""
    return c.repositories.audit.page(args, limit=args["limit"], cursor=args["cursor"])
