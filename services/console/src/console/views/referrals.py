"""The intake coordinator's pages: the referral queue by stage, a new referral, a referral.

Referrals are named in URLs by their ids only (opaque, not personal data); a client's name
appears in a page's body, never in its address or title.
"""

from __future__ import annotations

from datetime import date, datetime

from flask import Blueprint, redirect, render_template, request, session, url_for

from console.client import ServiceRefused
from console.domain import languages
from console.domain.referrals import STAGES, STATUS_NAMES
from console.names import client_names
from console.views import forms
from console.views.referral_steps import referral_page
from console.web import api, components, current_user, roles
from dbt_shared.vocabulary import COORDINATING

blp = Blueprint("referrals", __name__, url_prefix="/referrals")

QUEUE_PAGE = 50

REFERRAL_FIELDS = [
    "site_id",
    "program",
    "source",
    "client.given_name",
    "client.family_name",
    "client.date_of_birth",
    "client.email",
    "client.phone",
    "client.preferred_channel",
    "client.language",
]
REFERRAL_WORDING = {
    "site_id": "Choose the site",
    "program": "Choose the program",
    "source": "Enter who referred the client, for example GP or self",
    "consent_to_contact": "Confirm the client agreed to be contacted",
    "client.given_name": "Enter the client's first name",
    "client.family_name": "Enter the client's last name",
    "client.date_of_birth": "Enter the client's date of birth",
    "client.email": "Enter the client's email address",
    "client.phone": "Enter the client's phone number",
    "client.preferred_channel": "Choose how the client prefers to be contacted",
    "client.language": "Choose the client's language",
}
#: The form's field listing the possible duplicates the coordinator was shown and chose to
#: record anyway (referral ids, space-separated: not personal data).
ACKNOWLEDGED = "acknowledged_duplicates"


def _sites() -> list[dict]:
    return api().get("intake", "/v1/sites", limit=100)["items"]


def _chosen_site(sites: list[dict]) -> str | None:
    wanted = request.args.get("site", "")
    ids = [site["id"] for site in sites]
    if wanted in ids:
        return wanted
    mine = [s for s in current_user().get("sites", []) if s in ids]
    return (mine or ids or [None])[0]


@blp.get("")
@roles(*COORDINATING)
def queue():
    """Who waits at which stage, oldest first, with the days each has waited."""
    sites = _sites()
    site_id = _chosen_site(sites)
    stage = request.args.get("stage", "")
    stage = stage if stage in STAGES else ""
    rows, counts = [], {}
    if site_id:
        calls = api()
        if stage:
            # The stage's referrals, and the counts of every stage from intake's kept figures
            # of the site (one read of its tallies), not a page of the waitlist as well.
            found = calls.gather(
                figures=lambda: calls.get("intake", "/v1/waitlist-figures", site_id=site_id),
                staged=lambda: calls.get(
                    "intake", "/v1/referrals", site_id=site_id, status=stage, limit=QUEUE_PAGE
                ),
            )
            counts = _stage_counts(found["figures"])
        else:
            found = {
                "waitlist": calls.get("intake", "/v1/waitlist", site_id=site_id, limit=QUEUE_PAGE)
            }
            counts = {item["stage"]: item["count"] for item in found["waitlist"].get("stages", [])}
        if stage:
            today = components().clock.now().date()
            rows = [
                {
                    "id": item["id"],
                    "program": item["program"],
                    "stage": item["status"],
                    "source": item.get("source"),
                    "waiting_days": _days_since(item.get("received_at"), today),
                    "name": item.get("display_name"),  # intake names a list's clients
                }
                for item in found["staged"]["items"]
            ]
        else:
            rows = [
                {
                    "id": item["referral_id"],
                    "program": item["program"],
                    "stage": item["stage"],
                    "waiting_days": item["waiting_days"],
                    "name": item.get("display_name"),
                }
                for item in found["waitlist"]["items"]
            ]
    if any(row.get("name") is None for row in rows):
        _add_names(rows)
    template = (
        "referrals/_rows.html" if request.headers.get("HX-Request") else "referrals/queue.html"
    )
    return render_template(
        template,
        sites=sites,
        site_id=site_id,
        stage=stage,
        stages=STAGES,
        counts=counts,
        rows=rows,
        status_names=STATUS_NAMES,
    )


def _stage_counts(figures: dict) -> dict[str, int]:
    """How many wait at each stage, every program of the site added up."""
    counts: dict[str, int] = {}
    for site in figures.get("items", []):
        for program in site.get("programs", []):
            for item in program.get("stages", []):
                counts[item["stage"]] = counts.get(item["stage"], 0) + item["count"]
    return counts


def _add_names(rows: list[dict]) -> None:
    """The page's clients' names in one call (intake's display-names), never one per row;
    only in the page's body (a name is never in a URL or a title)."""
    try:
        names = client_names(api(), [row["id"] for row in rows if row.get("name") is None])
    except ServiceRefused as exc:
        if exc.status != 404:
            raise
        return  # an intake without the look-up: the rows without names
    for row in rows:
        row["name"] = row.get("name") or names.get(row["id"])


def _days_since(received_at: str | None, today: date) -> int | None:
    if not received_at:
        return None
    return (today - datetime.fromisoformat(received_at).date()).days


@blp.get("/find")
@roles(*COORDINATING)
def find():
    """A referral by its reference (its id), from the search box."""
    reference = request.args.get("reference", "").strip()
    if not reference:
        return redirect(url_for("referrals.queue"))
    return redirect(url_for("referrals.referral", referral_id=reference))


@blp.get("/new")
@roles(*COORDINATING)
def new():
    sites = _sites()
    values = {
        "site_id": _chosen_site(sites) or "",
        "client.preferred_channel": "email",
        "client.language": languages.DEFAULT,
    }
    return _form(sites, values, {}, None, forms.idempotency_key())


def _form(sites, values, errors, form_error, key, status=200, duplicates=()):
    return render_template(
        "referrals/new.html",
        site_options=[("", "Choose a site")] + [(site["id"], site["name"]) for site in sites],
        language_options=languages.options(values.get("client.language")),
        values=values,
        errors=errors,
        form_error=form_error,
        idempotency_key=key,
        duplicates=list(duplicates),
    ), status


@blp.post("/new")
@roles(*COORDINATING)
def record():
    """Check for the same person's open referrals at the site first: if there are some the
    coordinator has not seen, the form again with them (values kept) and 'Record it anyway';
    otherwise record the referral with intake. On a refusal the form again, values kept."""
    values = forms.submitted()
    values["client.date_of_birth"] = _date_of_birth(values)
    acknowledged = set(values.pop(ACKNOWLEDGED, "").split())
    key = forms.idempotency_key()
    found = _possible_duplicates(values)
    if set(found) - acknowledged:  # a name or date changed after the warning is checked anew
        return _form(_sites(), values, {}, None, key, duplicates=found)
    body = forms.nested(values, REFERRAL_FIELDS)
    if values.get("consent_to_contact") == "yes":
        body["consent_to_contact"] = True
    try:
        referral = api().post("intake", "/v1/referrals", body, idempotency_key=key)
    except ServiceRefused as exc:
        errors, form_error = forms.refusal(exc, REFERRAL_WORDING)
        # the warning stays, confirmed already: fixing a field does not ask again
        return _form(_sites(), values, errors, form_error, key, 422, duplicates=found)
    unseen = [
        other for other in referral.get("possible_duplicates") or [] if other not in acknowledged
    ]
    if unseen:
        # recorded meanwhile by someone else (after the check): referral ids (not personal
        # data), shown once on the new referral's page
        session["possible_duplicates"] = unseen
    return redirect(url_for("referrals.referral", referral_id=referral["id"]), code=303)


def _possible_duplicates(values: dict[str, str]) -> list[str]:
    """The site's open referrals of the person named in the form (intake's keyed-hash look-up:
    one call, nothing decrypted; only referral ids come back, of the chosen site only). Until
    the site, both names and the date of birth are given, or while intake refuses them, there
    is nothing to check: recording then says what is missing or wrong, next to its field."""
    site_id = values.get("site_id", "")
    person = {
        name: values.get(f"client.{name}", "")
        for name in ("given_name", "family_name", "date_of_birth")
    }
    if not site_id or not all(person.values()):
        return []
    try:
        found = api().post("intake", "/v1/duplicate-checks", {"site_id": site_id, **person})
    except ServiceRefused:
        return []  # a 422 (a date that is not one...), a 403: recording answers it properly
    return list(found.get("possible_duplicates") or [])


def _date_of_birth(values: dict[str, str]) -> str:
    """The NHS.UK date input's three boxes as the ISO date intake reads ('' if left empty;
    intake says what is wrong with a date that is not one)."""
    day, month, year = (values.get(f"dob.{part}", "") for part in ("day", "month", "year"))
    if not (day or month or year):
        return ""
    return f"{year.zfill(4)}-{month.zfill(2)}-{day.zfill(2)}"


@blp.get("/<referral_id>")
@roles(*COORDINATING)
def referral(referral_id: str):
    """The referral, its client, screenings (with the risk banner), and its next steps."""
    return referral_page(referral_id)
