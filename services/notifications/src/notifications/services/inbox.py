"""Inboxes: a site's (its coordinators), and a person's own (``GET /v1/me/inbox``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from typing import Any

from dbt_shared.auth import Principal
from dbt_shared.errors import NotFound
from notifications.bootstrap import Components


@dataclass(frozen=True)
class ListInbox:
    site_id: str
    limit: int = 50
    cursor: str | None = None


@dataclass(frozen=True)
class InboxPage:
    items: list[dict[str, Any]]
    next_cursor: str | None


def list_inbox(query: ListInbox, components: Components, principal: Principal) -> InboxPage:
    """The site's inbox: urgent items first, then the rest, each oldest first.

    Another site's inbox is not disclosed (``NotFound``); a cursor this service did not give out
    is refused (422, field ``cursor``).
    """
    if not principal.can_act_on_site(query.site_id):
        raise NotFound("site")
    items, cursor = components.repositories.inbox.page(
        query.site_id, limit=query.limit, cursor=query.cursor
    )
    # Risk flags and crisis requests of the site's clients: the read is recorded before the answer.
    components.repositories.audit.record_list(principal, "inbox.read", "site_inbox", query.site_id)
    return InboxPage(items, cursor)


def mark_read(site_id: str, item_id: str, c: Components, principal: Principal) -> dict[str, Any]:
    """Mark one of the site's inbox items read (its coordinators, operators): the site's unread
    count drops by one, once, however many mark it; another site's item is not disclosed."""
    if not principal.can_act_on_site(site_id):
        raise NotFound("inbox item")
    # The item names a referral (a risk flag, a new client): the mark is recorded first.
    c.repositories.audit.record(
        principal,
        action="inbox.mark_read",
        object_type="inbox_item",
        object_id=item_id,
        site_id=site_id,
    )
    item = c.repositories.inbox.mark_read(site_id, item_id, principal.subject, c.clock.now())
    if item is None:
        raise NotFound("inbox item")
    return item


def unread_count(site_id: str, c: Components, principal: Principal) -> dict[str, Any]:
    """How many of the site's inbox items nobody has marked read: a tally, not a count."""
    if not principal.can_act_on_site(site_id):
        raise NotFound("site")
    return {"site_id": site_id, "unread": c.repositories.inbox.unread(site_id)}


FAILED_DAYS = 7  # the overview's window of failed deliveries


def site_figures(site_id: str, c: Components, principal: Principal) -> dict[str, Any]:
    """A site's notification figures for the operators' overview, from tallies (a few reads by
    key): inbox items nobody marked read, deliveries that failed for good in the last 7 days."""
    if not principal.can_act_on_site(site_id):
        raise NotFound("site")
    today = c.clock.now().astimezone(UTC).date()
    return {
        "site_id": site_id,
        "unread_inbox": c.repositories.inbox.unread(site_id),
        "failed_deliveries_7d": c.repositories.figures.failed_in_days(site_id, today, FAILED_DAYS),
    }


def my_inbox(args: dict[str, Any], c: Components, principal: Principal) -> InboxPage:
    """The caller's own items (a clinician's or a client's), oldest first. A clinician is known
    by the clinician ids their token's subject was registered under at intake."""
    recipient_id, site_id = _me(c, principal)
    items, cursor = c.repositories.inbox.mine(
        recipient_id, limit=args["limit"], cursor=args["cursor"]
    )
    # A clinician's items name clients and their coaching (crisis) requests: recorded first.
    c.repositories.audit.record(
        principal,
        action="my_inbox.read",
        object_type="inbox",
        object_id=recipient_id,
        site_id=site_id,
    )
    return InboxPage(items, cursor)


def _me(c: Components, principal: Principal) -> tuple[str, str]:
    """(The caller's recipient id, their site: a clinician's; "" for a client, whose token
    names no one site)."""
    if principal.has_role("client"):
        return principal.subject, ""
    found = c.repositories.clinicians.of_subject(principal.subject)
    if not found:
        raise NotFound("inbox")
    return found[0]["_id"], found[0]["site_id"]
