"""The site inbox for coordinators: new referrals and risk flags from notifications, urgent
first, each opening its referral (by id)."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from console.client import segment
from console.web import api, current_user, roles
from dbt_shared.vocabulary import COORDINATING

blp = Blueprint("inbox", __name__)

KINDS = {"referral_received": "New referral", "risk_flagged": "Risk flagged at screening"}
INBOX_PAGE = 50


@blp.get("/inbox")
@roles(*COORDINATING)
def inbox():
    calls = api()
    sites = calls.get("intake", "/v1/sites", limit=100)["items"]
    ids = [site["id"] for site in sites]
    wanted = request.args.get("site", "")
    mine = [s for s in current_user().get("sites", []) if s in ids]
    site_id = wanted if wanted in ids else (mine or ids or [None])[0]
    items, unread = [], 0
    if site_id:
        found = calls.gather(
            items=lambda: calls.get(
                "notifications", "/v1/inbox", site_id=site_id, limit=INBOX_PAGE
            ),
            unread=lambda: calls.get(
                "notifications", f"/v1/sites/{segment(site_id)}/inbox/unread-count"
            ),
        )
        items, unread = found["items"]["items"], found["unread"]["unread"]
    return render_template(
        "inbox.html", sites=sites, site_id=site_id, items=items, kinds=KINDS, unread=unread
    )


@blp.post("/inbox/<site_id>/<item_id>/read")
@roles(*COORDINATING)
def mark_read(site_id: str, item_id: str):
    """Mark an item read (notifications keeps who and when); htmx swaps just its row and the
    unread count."""
    calls = api()
    site = f"/v1/sites/{segment(site_id)}"
    item = calls.post("notifications", f"{site}/inbox/{segment(item_id)}/read")
    if request.headers.get("HX-Request"):
        # The row, and the site's unread count after the mark (notifications' tally, one read
        # by key) out of band: without it the page kept the count from before.
        unread = calls.get("notifications", f"{site}/inbox/unread-count")["unread"]
        return render_template(
            "inbox_row.html", item=item, site_id=site_id, kinds=KINDS
        ) + render_template("inbox_unread.html", unread=unread, out_of_band=True)
    return redirect(url_for("inbox.inbox", site=site_id), code=303)
