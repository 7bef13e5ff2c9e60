"""The start page (signed out) and each role's home."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session, url_for

from console.web import current_user, public

blp = Blueprint("pages", __name__)

#: Why the last session ended, as the start page says it (the only values ``ended`` takes).
ENDED = {
    "idle": "You were signed out because the console was not used for a while.",
    "expired": "Your sign-in has expired. Sign in again to carry on.",
}


@blp.get("/")
@public
def start():
    """Signed out: what the console is and the sign-in button. Signed in: the home page."""
    if session.get("user"):
        return redirect(url_for("pages.home"))
    wanted = request.args.get("next", "")
    return render_template(
        "start.html",
        ended=ENDED.get(request.args.get("ended", "")),
        next=wanted if wanted.startswith("/") and not wanted.startswith("//") else None,
    )


@blp.get("/home")
def home():
    """Each role's first page: what they do every day."""
    user_roles = set(current_user().get("roles", ()))
    if "operator" in user_roles:
        return redirect(url_for("organisation.overview"))
    if "coordinator" in user_roles:
        return redirect(url_for("referrals.queue"))
    if "therapist" in user_roles:
        return redirect(url_for("coaching.queue"))
    if "facilitator" in user_roles:
        return redirect(url_for("groups.my_groups"))
    if "ops" in user_roles:
        return redirect(url_for("ops.screen"))
    return render_template("home.html")
