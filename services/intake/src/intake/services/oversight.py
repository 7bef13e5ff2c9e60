"""Use cases of oversight: contact channels at send time, the waitlist, the audit trail."""

from __future__ import annotations

from typing import Any

from dbt_shared.auth import Principal
from dbt_shared.errors import NotFound
from dbt_shared.pagination import page, page_union
from intake.bootstrap import Components
from intake.domain import pipeline
from intake.services.referrals import client_details

AUDIT_FILTERS = ("site_id", "object_type", "object_id", "actor", "action")


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
    return {
        "client_id": client_id,
        "site_id": referral.site_id,
        "channels": {"email": client["email"], "sms": client["phone"]},
        "preferred_channel": client.get("preferred_channel", "email"),
        "language": client.get("language", "en"),
        "timezone": site["timezone"] if site else "UTC",
    }


def waitlist(args: dict[str, Any], c: Components, principal: Principal) -> dict[str, Any]:
    """Who is waiting at which stage and for how many days, oldest first."""
    site_id = args["site_id"]
    principal.require_site(site_id)
    program = {"program": args["program"]} if args.get("program") else {}
    # index: site_status (site_id, status, _id), one equality query per waiting stage
    items, cursor = page_union(
        c.repositories.referrals,
        [{"site_id": site_id, "status": stage, **program} for stage in pipeline.WAITING_STAGES],
        limit=args["limit"],
        cursor=args["cursor"],
        projection={"program": 1, "status": 1, "received_at": 1},
    )
    now = c.clock.now()
    for item in items:
        item["waiting_days"] = pipeline.waiting_days(item["received_at"], now)
    stages = [
        {"stage": stage, "count": c.repositories.waiting_count(site_id, stage, args.get("program"))}
        for stage in pipeline.WAITING_STAGES
    ]
    c.repositories.audit.record(
        principal,
        action="waitlist.read",
        object_type="waitlist",
        object_id=site_id,
        site_id=site_id,
    )
    return {"site_id": site_id, "stages": stages, "items": items, "next_cursor": cursor}


def waitlist_sizes(c: Components) -> dict[tuple[str, str], int]:
    """Waitlist size per site and stage, every stage of every known site (zeros included)."""
    return {
        (site_id, stage): c.repositories.waiting_count(site_id, stage)
        for site_id in c.repositories.site_ids()
        for stage in pipeline.WAITING_STAGES
    }


def audit_trail(args: dict[str, Any], c: Components) -> tuple[list[dict[str, Any]], str | None]:
    """The audit trail of access to client data, oldest first, with filters (operators)."""
    query = {name: args[name] for name in AUDIT_FILTERS if args.get(name)}
    return page(c.repositories.audit.trail, query, limit=args["limit"], cursor=args["cursor"])
