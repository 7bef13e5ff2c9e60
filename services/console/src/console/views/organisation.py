"""The operator's pages: the organisation at a glance, its sites, a site's programs."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, redirect, render_template, url_for

from console.client import ServiceRefused, ServiceUnavailable, segment
from console.domain import program_settings
from console.names import client_names
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


#: The figures of the overview, each one call for every site: (service, path).
FIGURES = {
    "waitlist": ("intake", "/v1/waitlist-figures"),
    "groups": ("skills-group", "/v1/group-figures"),
    "coaching": ("coaching", "/v1/coaching-figures"),
    "notifications": ("notifications", "/v1/notification-figures"),
}


@blp.get("/organisation")
@roles("operator")
def overview():
    """Every site at a glance: one call per service for all the sites at once (the services'
    organisation-wide figures), never one per site. A service that does not answer leaves its
    columns saying so; the rest of the page is shown."""
    calls = api()
    jobs = {"sites": _part(lambda: calls.get("intake", "/v1/sites", limit=SITES_PAGE))}
    for name, (service, path) in FIGURES.items():
        jobs[name] = _part(lambda service=service, path=path: calls.get(service, path))
    found = calls.gather(**jobs)
    unavailable = sorted(
        {FIGURES[n][0] for n in FIGURES if found[n] is UNAVAILABLE}
        | ({"intake"} if found["sites"] is UNAVAILABLE else set())
    )
    by_site = {
        name: {row["site_id"]: row for row in (found[name] or {}).get("items", [])}
        if isinstance(found[name], dict)
        else None  # unavailable: every figure of it unknown
        for name in FIGURES
    }
    sites = found["sites"]["items"] if isinstance(found["sites"], dict) else None
    if sites is None:  # intake is down: the sites the other services know, by id
        ids = sorted({s for rows in by_site.values() if rows for s in rows})
        sites = [{"id": site_id, "name": site_id} for site_id in ids]
    rows = [_site_row(site, by_site) for site in sites]
    return render_template(
        "organisation/overview.html",
        rows=rows,
        programs=[p for row in rows for p in row["programs"]],
        unavailable=unavailable,
    )


UNAVAILABLE = object()  # a service that did not answer (its figures are not known)


def _part(fetch):
    """A call whose service may be down (or not offer the figures yet, 404): the page goes on
    without it."""

    def run():
        try:
            return fetch()
        except ServiceUnavailable:
            return UNAVAILABLE
        except ServiceRefused as exc:
            if exc.status != 404:
                raise
            return None

    return run


def _site_row(site: dict, by_site: dict) -> dict:
    """One site's figures, ``None`` where the service that keeps one did not answer."""
    site_id = site["id"]

    def of(name: str) -> dict | None:
        rows = by_site[name]
        return None if rows is None else rows.get(site_id, {})

    waitlist, groups = of("waitlist"), of("groups")
    coaching, sent = of("coaching"), of("notifications")
    programs: dict[str, dict] = {}
    for p in (waitlist or {}).get("programs", []):
        programs.setdefault(p["program"], {"program": p["program"]}).update(
            waiting=p.get("waiting"), oldest_days=p.get("oldest_waiting_days")
        )
    for p in (groups or {}).get("programs", []):
        kind = p.get("program") or p.get("program_id")
        programs.setdefault(kind, {"program": kind}).update(
            groups=p.get("groups"),
            filled=p.get("filled"),
            free=p.get("free"),
            at_risk=p.get("at_risk"),
        )
    return {
        "site": site,
        "waitlist_known": waitlist is not None,
        "waiting": (waitlist or {}).get("waiting", 0),
        "oldest_days": (waitlist or {}).get("oldest_waiting_days"),
        "groups_known": groups is not None,
        "filled": (groups or {}).get("filled", 0),
        "free": (groups or {}).get("free", 0),
        "at_risk": (groups or {}).get("at_risk", 0),
        "coaching_known": coaching is not None,
        "rota_set": (coaching or {}).get("rota_set", False),
        "uncovered_hours": (coaching or {}).get("hours_without_primary_7d"),
        "missed_acks": (coaching or {}).get("missed_acknowledgements_7d", 0),
        "notifications_known": sent is not None,
        "failed_deliveries": (sent or {}).get("failed_deliveries_7d", 0),
        "unread_inbox": (sent or {}).get("unread_inbox", 0),
        "programs": [{"site": site, **programs[kind]} for kind in sorted(programs, key=str)],
    }


@blp.get("/sites/<site_id>/members-at-risk")
@roles("operator")
def members_at_risk(site_id: str):
    """The site's group members one miss from their program's limit (skills-group audits the
    list), named with one display-names call for the page (intake audits it)."""
    calls = api()
    path = f"/v1/sites/{segment(site_id)}"
    found = calls.gather(
        site=lambda: calls.get("intake", path),
        members=lambda: calls.get("skills-group", path + "/members-at-risk"),
    )
    items = found["members"]["items"]
    names = client_names(api(), [m["client_id"] for m in items])
    return render_template(
        "organisation/members_at_risk.html", site=found["site"], items=items, names=names
    )


@blp.get("/sites/<site_id>/coverage-gaps")
@roles("operator")
def coverage_gaps(site_id: str):
    """The stretches of coaching hours in the next 7 days without a primary or a backup on
    call, in the site's time (coaching computes them from the rota as it stands)."""
    calls = api()
    path = f"/v1/sites/{segment(site_id)}"
    found = calls.gather(
        site=lambda: calls.get("intake", path),
        coverage=lambda: calls.get("coaching", path + "/coverage"),
    )
    zone = ZoneInfo(found["coverage"].get("timezone") or found["site"].get("timezone") or "UTC")
    gaps = [
        {
            "missing": gap["missing"],
            "start": datetime.fromisoformat(gap["start"]).astimezone(zone),
            "end": datetime.fromisoformat(gap["end"]).astimezone(zone),
        }
        for gap in found["coverage"].get("gaps", [])
    ]
    for gap in gaps:
        gap["hours"] = round((gap["end"] - gap["start"]).total_seconds() / 3600, 1)
    return render_template("organisation/coverage_gaps.html", site=found["site"], gaps=gaps)


@blp.get("/sites/<site_id>/missed-acknowledgements")
@roles("operator")
def missed_acknowledgements(site_id: str):
    """The coaching requests whose acknowledgement deadline passed in the last 7 days, newest
    first (coaching audits the list), each client named with one display-names call."""
    calls = api()
    path = f"/v1/sites/{segment(site_id)}"
    found = calls.gather(
        site=lambda: calls.get("intake", path),
        missed=lambda: calls.get("coaching", path + "/missed-acknowledgements"),
    )
    zone = ZoneInfo(found["site"].get("timezone") or "UTC")
    items = [
        {**item, "missed_at": datetime.fromisoformat(item["missed_at"]).astimezone(zone)}
        for item in found["missed"]["items"]
    ]
    names = client_names(api(), [i["client_id"] for i in items if i.get("client_id")])
    return render_template(
        "organisation/missed_acknowledgements.html",
        site=found["site"],
        items=items,
        names=names,
        days=found["missed"].get("days", 7),
    )


@blp.get("/sites/<site_id>/failed-deliveries")
@roles("operator")
def failed_deliveries(site_id: str):
    """The site's deliveries that failed for good in the last 7 days, newest first
    (notifications audits the list)."""
    calls = api()
    path = f"/v1/sites/{segment(site_id)}"
    found = calls.gather(
        site=lambda: calls.get("intake", path),
        failed=lambda: calls.get("notifications", path + "/failed-deliveries"),
    )
    zone = ZoneInfo(found["site"].get("timezone") or "UTC")
    items = [
        {**item, "failed_at": datetime.fromisoformat(item["failed_at"]).astimezone(zone)}
        for item in found["failed"]["items"]
    ]
    return render_template(
        "organisation/failed_deliveries.html",
        site=found["site"],
        items=items,
        days=found["failed"].get("days", 7),
    )


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
