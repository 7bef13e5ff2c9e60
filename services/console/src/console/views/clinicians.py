"""The operator's clinician pages for a site: its clinicians (therapists and facilitators) with
their roles, programs, languages and caseload; add one; deactivate one who left.

Clinicians are intake's: a clinician is registered at a site with the identity provider's
subject (their user id), so the person who signs in is the clinician the pages name.
"""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from console.client import ServiceRefused, segment
from console.views import forms
from console.web import api, roles

blp = Blueprint("clinicians", __name__, url_prefix="/sites")

CLINICIAN_ROLES = (("therapist", "Therapist"), ("facilitator", "Group facilitator"))
PROGRAMS = (("adult", "Adult"), ("adolescent", "Adolescent"))
WORDING = {
    "subject": "Enter the person's user id from the sign-in service",
    "display_name": "Enter the name colleagues and clients see",
    "roles": "Choose at least one role",
    "programs": "",
    "languages": "",
    "caseload_limit": "",
    "email": "",
    "phone": "",
}


def _clinician_body() -> tuple[dict[str, str], dict]:
    values = forms.submitted()
    body = forms.nested(values, ["subject", "display_name", "email", "phone"])
    body["roles"] = request.form.getlist("roles")
    if not body["roles"]:
        del body["roles"]  # missing: intake says so at the field
    programs = request.form.getlist("programs")
    if programs:
        body["programs"] = programs
    languages = [code.strip() for code in values.get("languages", "").split(",") if code.strip()]
    if languages:
        body["languages"] = languages
    limit = values.get("caseload_limit", "")
    if limit:
        body["caseload_limit"] = int(limit) if limit.isdigit() else limit
    values["roles"] = request.form.getlist("roles")
    values["programs"] = programs
    return values, body


@blp.get("/<site_id>/clinicians/new")
@roles("operator")
def new_clinician(site_id: str):
    site = api().get("intake", f"/v1/sites/{segment(site_id)}")
    values = {"programs": [kind for kind, _ in PROGRAMS], "languages": "en", "caseload_limit": "10"}
    return _form(site, values, {}, None, forms.idempotency_key())


def _form(site, values, errors, form_error, key, status=200):
    return render_template(
        "clinicians/new.html",
        site=site,
        values=values,
        errors=errors,
        form_error=form_error,
        idempotency_key=key,
        role_options=CLINICIAN_ROLES,
        program_options=PROGRAMS,
    ), status


@blp.post("/<site_id>/clinicians/new")
@roles("operator")
def add_clinician(site_id: str):
    """Register the clinician with intake; back to the site, or the form with the messages."""
    values, body = _clinician_body()
    key = forms.idempotency_key()
    calls = api()
    path = f"/v1/sites/{segment(site_id)}"
    try:
        calls.post("intake", path + "/clinicians", body, idempotency_key=key)
    except ServiceRefused as exc:
        errors, form_error = forms.refusal(exc, WORDING)
        errors = {name.split("[")[0]: message for name, message in errors.items()}
        return _form(calls.get("intake", path), values, errors, form_error, key, 422)
    return redirect(url_for("organisation.site", site_id=site_id, _anchor="clinicians"), code=303)


@blp.post("/<site_id>/clinicians/<clinician_id>/deactivation")
@roles("operator")
def deactivate(site_id: str, clinician_id: str):
    """The clinician left: intake stops matching them and the other services end their access
    to the site's calendars. Repeating it changes nothing."""
    api().post(
        "intake",
        f"/v1/sites/{segment(site_id)}/clinicians/{segment(clinician_id)}/deactivation",
    )
    return redirect(url_for("organisation.site", site_id=site_id, _anchor="clinicians"), code=303)
