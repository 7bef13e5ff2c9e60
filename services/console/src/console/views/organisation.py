"""The operator's pages: the organisation at a glance, its sites, a site's programs."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for

from console.client import ServiceRefused, segment
from console.domain import program_settings
from console.views import forms
from console.web import api, roles

blp = Blueprint("organisation", __name__)

#: The most sites one page shows (an organisation has a few dozen).
SITES_PAGE = 100

SITE_FIELDS = [
    "name",
    "timezone",
    "intake_email",
    "clinical_lead.name",
    "clinical_lead.email",
    "clinical_lead.phone",
]
SITE_WORDING = {
    "name": "Enter the site's name",
    "timezone": "Enter the site's time zone, for example Europe/London",
    "intake_email": "Enter the address referrals are sent to",
    "clinical_lead.name": "Enter the clinical lead's name",
    "clinical_lead.email": "Enter the clinical lead's email address",
    "clinical_lead.phone": "Enter a phone number, like +44 20 7946 0000",
}


@blp.get("/organisation")
@roles("operator")
def overview():
    """Every site with who is waiting (and the longest wait) and its groups' seats."""
    calls = api()
    sites = calls.get("intake", "/v1/sites", limit=SITES_PAGE)["items"]
    # One call per site to each service, all at once: intake and skills-group have no
    # organisation-wide summary yet (docs/console.md, "Known gaps").
    fetches = {}
    for site in sites:
        site_id = site["id"]
        fetches[f"wait:{site_id}"] = lambda s=site_id: calls.get(
            "intake", "/v1/waitlist", site_id=s, limit=1
        )
        fetches[f"groups:{site_id}"] = lambda s=site_id: calls.get(
            "skills-group", "/v1/groups", site_id=s
        )
        fetches[f"notifications:{site_id}"] = lambda s=site_id: _figures(
            calls, "notifications", f"/v1/sites/{segment(s)}/notification-figures"
        )
        fetches[f"coaching:{site_id}"] = lambda s=site_id: _figures(
            calls, "coaching", f"/v1/sites/{segment(s)}/coaching-figures"
        )
    found = calls.gather(**fetches)
    rows = []
    for site in sites:
        waitlist = found[f"wait:{site['id']}"]
        groups = found[f"groups:{site['id']}"]
        sent = found[f"notifications:{site['id']}"] or {}
        coaching = found[f"coaching:{site['id']}"] or {}
        oldest = waitlist["items"][0]["waiting_days"] if waitlist.get("items") else None
        rows.append(
            {
                "site": site,
                "waiting": sum(stage["count"] for stage in waitlist.get("stages", [])),
                "oldest_days": oldest,
                "groups": len(groups),
                "seats": sum(group.get("capacity") or 0 for group in groups),
                "unread_inbox": sent.get("unread_inbox"),
                "failed_deliveries": sent.get("failed_deliveries_7d"),
                "missed_acks": coaching.get("missed_acknowledgements_7d"),
            }
        )
    return render_template("organisation/overview.html", rows=rows)


def _figures(calls, service: str, path: str) -> dict | None:
    """A site's kept figures from a service; None where that service offers none yet (404)."""
    try:
        return calls.get(service, path)
    except ServiceRefused as exc:
        if exc.status != 404:
            raise
        return None


@blp.get("/sites")
@roles("operator")
def sites():
    items = api().get("intake", "/v1/sites", limit=SITES_PAGE)["items"]
    return render_template("organisation/sites.html", sites=items)


@blp.get("/sites/new")
@roles("operator")
def new_site():
    return render_template(
        "organisation/site_new.html",
        values={},
        errors={},
        form_error=None,
        idempotency_key=forms.idempotency_key(),
    )


@blp.post("/sites/new")
@roles("operator")
def add_site():
    """Register the site with intake; on a refusal the form again, values kept, messages at
    the fields."""
    values = forms.submitted()
    body = forms.nested(values, SITE_FIELDS)
    key = forms.idempotency_key()
    try:
        site = api().post("intake", "/v1/sites", body, idempotency_key=key)
    except ServiceRefused as exc:
        errors, form_error = forms.refusal(exc, SITE_WORDING)
        return render_template(
            "organisation/site_new.html",
            values=values,
            errors=errors,
            form_error=form_error,
            idempotency_key=key,
        ), 422
    return redirect(url_for("organisation.site", site_id=site["id"]), code=303)


@blp.get("/sites/<site_id>/edit")
@roles("operator")
def edit_site(site_id: str):
    site = api().get("intake", f"/v1/sites/{segment(site_id)}")
    values = {name: site.get(name) or "" for name in ("name", "timezone", "intake_email")}
    for part in ("name", "email", "phone"):
        values[f"clinical_lead.{part}"] = (site.get("clinical_lead") or {}).get(part) or ""
    return _site_form(site, values, {}, None)


def _site_form(site, values, errors, form_error, status=200):
    return render_template(
        "organisation/site_new.html",
        site=site,
        values=values,
        errors=errors,
        form_error=form_error,
        idempotency_key="",
    ), status


@blp.post("/sites/<site_id>/edit")
@roles("operator")
def save_site(site_id: str):
    """Send intake the fields that changed (a clinical lead emptied is removed); back to the
    site, or the form with the messages at the fields and what was typed."""
    calls = api()
    path = f"/v1/sites/{segment(site_id)}"
    site = calls.get("intake", path)
    values = forms.submitted()
    typed = forms.nested(values, SITE_FIELDS)
    change = {
        name: typed[name]
        for name in ("name", "timezone", "intake_email")
        if name in typed and typed[name] != site.get(name)
    }
    lead = typed.get("clinical_lead")  # the fields typed, or absent when all are empty
    current_lead = {k: v for k, v in (site.get("clinical_lead") or {}).items() if v} or None
    if lead != current_lead:
        change["clinical_lead"] = lead  # None removes the lead
    if not change:
        return redirect(url_for("organisation.site", site_id=site_id), code=303)
    try:
        calls.patch("intake", path, change)
    except ServiceRefused as exc:
        errors, form_error = forms.refusal(exc, SITE_WORDING)
        return _site_form(site, values, errors, form_error, 422)
    return redirect(url_for("organisation.site", site_id=site_id), code=303)


@blp.get("/sites/<site_id>")
@roles("operator", "coordinator")
def site(site_id: str):
    """A site's details and its programs, each setting beside the standard DBT value."""
    calls = api()
    path = f"/v1/sites/{segment(site_id)}"
    found = calls.gather(
        site=lambda: calls.get("intake", path),
        programs=lambda: calls.get("intake", path + "/programs"),
        clinicians=lambda: calls.get("intake", path + "/clinicians"),
    )
    programs = [
        {
            "program": program,
            "rows": program_settings.rows(program["kind"], program.get("settings") or {}),
        }
        for program in found["programs"]["items"]
    ]
    return render_template(
        "organisation/site.html",
        site=found["site"],
        programs=programs,
        clinicians=found["clinicians"]["items"],
    )
