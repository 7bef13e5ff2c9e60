"""Sign-in and sign-out (OpenID Connect, authorization code with PKCE)."""

from __future__ import annotations

import logging

from flask import Blueprint, redirect, request, session, url_for

from console.identity import SignInFailed, user_from
from console.web import components, error_page, public, start_signed_in_session

log = logging.getLogger(__name__)

blp = Blueprint("auth", __name__, url_prefix="/auth")


def _callback_url() -> str:
    # The registered redirect URI, from the configured base URL (never the Host header).
    return components().settings.base_url + url_for("auth.callback")


@blp.get("/sign-in")
@public
def sign_in():
    """Off to the provider's sign-in page; back at ``callback``."""
    if session.get("user"):
        return redirect(url_for("pages.home"))
    wanted = request.args.get("next", "")
    if _local_path(wanted):
        session["next"] = wanted
    return components().identity.authorize_redirect(_callback_url())


def _local_path(path: str) -> bool:
    """A path on this console (never another host: no open redirect after sign-in)."""
    return path.startswith("/") and not path.startswith(("//", "/\\")) and len(path) <= 300


@blp.get("/callback")
@public
def callback():
    """The provider's answer: tokens kept in the server-side session, the browser gets a new
    session id and nothing else."""
    if request.args.get("error"):
        log.info("sign-in refused by the provider", extra={"error": request.args["error"][:64]})
        return error_page(401)
    try:
        token = components().identity.complete_sign_in()
    except SignInFailed as exc:
        log.info("sign-in failed", extra={"reason": str(exc)})
        return error_page(401)
    wanted = session.get("next")
    start_signed_in_session(token, user_from(token))
    log.info("signed in", extra={"subject": session["user"]["sub"]})
    return redirect(wanted if wanted and _local_path(wanted) else url_for("pages.home"))


@blp.post("/sign-out")
@public  # a POST: the CSRF check still applies
def sign_out():
    """End the session here and at the provider, then back to the start page."""
    id_token = (session.get("tokens") or {}).get("id_token")
    session.end()
    back = components().settings.base_url + "/"
    return redirect(components().identity.end_session_url(id_token, back))
