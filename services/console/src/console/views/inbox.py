"""The site inbox for coordinators: new referrals and risk flags from notifications, urgent
first, each opening its referral (by id)."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from console.domain.referrals import STAFF
from console.web import api, current_user, roles

blp = Blueprint("inbox", __name__)

KINDS = {"referral_received": "New referral", "risk_flagged": "Risk flagged at screening"}
INBOX_PAGE = 50


@blp.get("/inbox")
@roles(*STAFF)
def inbox():
    calls = api()
    sites = calls.get("intake", "/v1/sites", limit=100)["items"]
    ids = [site["id"] for site in sites]
    wanted = request.args.get("site", "")
    mine = [s for s in current_user().get("sites", []) if s in ids]
    site_id = wanted if wanted in ids else (mine or ids or [None])[0]
    items = []
    if site_id:
        items = calls.get("notifications", "/v1/inbox", site_id=site_id, limit=INBOX_PAGE)["items"]
    return render_template(
        "inbox.html",
        sites=sites,
        site_id=site_id,
        items=items,
        kinds=KINDS,
        open_count=sum(1 for item in items if item.get("status") == "open"),
    )
