"""The operator's staff pages: the staff directory (intake's ``/v1/staff``), who works at which
site in which roles. A member is named by the identity provider's subject (their user id, not
personal data of a client); every service applies a change within seconds."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for

from console.client import ServiceRefused, segment
from console.views import forms
from console.web import api, roles

blp = Blueprint("staff", __name__, url_prefix="/staff")

SITE_ROLES = (
    ("coordinator", "Intake coordinator"),
    ("therapist", "Therapist"),
    ("facilitator", "Group facilitator"),
)
STAFF_PAGE = 100
WORDING = {"display_name": "Enter the person's name", "subject": "Enter the person's user id"}
ALREADY_ON_THE_STAFF = (
    "This person is already on the staff: change their roles from the staff list instead"
)


@blp.get("")
@roles("operator")
def staff_list():
    calls = api()
    found = calls.gather(
        staff=lambda: calls.get("intake", "/v1/staff", limit=STAFF_PAGE),
        sites=lambda: calls.get("intake", "/v1/sites", limit=100),
    )
    names = {site["id"]: site["name"] for site in found["sites"]["items"]}
    return render_template(
        "staff/list.html",
        members=found["staff"]["items"],
        site_names=names,
        role_names=dict(SITE_ROLES),
    )


def _sites() -> list[dict[str, Any]]:
    return api().get("intake", "/v1/sites", limit=100)["items"]


def _form(member_id, values, errors, form_error, status=200):
    return render_template(
        "staff/member.html",
        member_id=member_id,
        sites=_sites(),
        site_roles=SITE_ROLES,
        values=values,
        errors=errors,
        form_error=form_error,
    ), status


def _values_of(member: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {"display_name": member.get("display_name", "")}
    for membership in member.get("memberships") or []:
        values[f"roles.{membership['site_id']}"] = list(membership.get("roles") or [])
    return values


@blp.get("/new")
@roles("operator")
def new():
    return _form(None, {}, {}, None)


@blp.get("/<member_id>")
@roles("operator")
def edit(member_id: str):
    member = api().get("intake", f"/v1/staff/{segment(member_id)}")
    return _form(member_id, _values_of(member), {}, None)


@blp.post("/new")
@roles("operator")
def add():
    subject = request.form.get("subject", "").strip()
    if not subject:
        values = _submitted()
        return _form(None, values, {"subject": WORDING["subject"]}, None, 422)
    if _on_the_staff(subject):
        # intake's PUT replaces: adding someone already there would silently take away their
        # roles at every site not ticked here. Their own page starts from what they have.
        values = _submitted()
        return _form(None, values, {"subject": ALREADY_ON_THE_STAFF}, None, 422)
    return _save(subject, new_member=True)


def _on_the_staff(subject: str) -> bool:
    try:
        api().get("intake", f"/v1/staff/{segment(subject)}")
    except ServiceRefused as exc:
        if exc.status == 404:
            return False
        raise
    return True


@blp.post("/<member_id>")
@roles("operator")
def save(member_id: str):
    return _save(member_id, new_member=False)


def _submitted() -> dict[str, Any]:
    values: dict[str, Any] = forms.submitted()
    for key in request.form:
        if key.startswith("roles."):
            values[key] = request.form.getlist(key)
    return values


def _save(member_id: str, *, new_member: bool):
    """Create or replace the member (intake's PUT): name and each site's roles."""
    values = _submitted()
    memberships = [
        {"site_id": key.removeprefix("roles."), "roles": value}
        for key, value in values.items()
        if key.startswith("roles.") and value
    ]
    body = {"memberships": memberships}
    if values.get("display_name"):
        body["display_name"] = values["display_name"]
    try:
        api().put("intake", f"/v1/staff/{segment(member_id)}", body)  # create or replace
    except ServiceRefused as exc:
        if exc.status == 404 and not new_member:
            raise
        errors, form_error = forms.refusal(exc, WORDING)
        values["subject"] = member_id
        return _form(None if new_member else member_id, values, errors, form_error, 422)
    return redirect(url_for("staff.staff_list"), code=303)


@blp.post("/<member_id>/deactivation")
@roles("operator")
def deactivate(member_id: str):
    """They no longer work here: every service refuses them within seconds, whatever their
    token says."""
    api().post("intake", f"/v1/staff/{segment(member_id)}/deactivation")
    return redirect(url_for("staff.staff_list"), code=303)
