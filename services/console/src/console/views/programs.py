"""The operator's program pages: add a site's adult or adolescent program (it starts on the
standard DBT settings), and change a program's settings with the standard value beside each."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, url_for

from console.client import ServiceRefused, segment
from console.domain import program_settings
from console.views import forms
from console.web import api, roles

blp = Blueprint("programs", __name__, url_prefix="/sites")


def _program(site_id: str, program_id: str) -> tuple[dict, dict]:
    calls = api()
    path = f"/v1/sites/{segment(site_id)}"
    found = calls.gather(
        site=lambda: calls.get("intake", path),
        programs=lambda: calls.get("intake", path + "/programs"),
    )
    for program in found["programs"]["items"]:
        if program["id"] == program_id:
            return found["site"], program
    raise ServiceRefused("intake", 404, {"detail": "No such program."})


@blp.post("/<site_id>/programs")
@roles("operator")
def add(site_id: str):
    """Create the site's program of the chosen kind, on the standard settings."""
    kind = forms.submitted().get("kind", "")
    api().post("intake", f"/v1/sites/{segment(site_id)}/programs", {"kind": kind})
    return redirect(url_for("organisation.site", site_id=site_id), code=303)


@blp.get("/<site_id>/programs/<program_id>/settings")
@roles("operator")
def edit(site_id: str, program_id: str):
    site, program = _program(site_id, program_id)
    values = {name: _as_text(value) for name, value in (program.get("settings") or {}).items()}
    return _form(site, program, values, {}, None)


def _form(site, program, values, errors, form_error, status=200):
    standard = program_settings.STANDARD.get(program["kind"], program_settings.STANDARD["adult"])
    return render_template(
        "organisation/program_settings.html",
        site=site,
        program=program,
        settings=program_settings.SETTINGS,
        standard={
            s.name: program_settings.shown(standard[s.name], s) for s in program_settings.SETTINGS
        },
        values=values,
        errors=errors,
        form_error=form_error,
    ), status


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return "" if value is None else str(value)


def _from_text(name: str, text: str) -> Any:
    if name in ("prenotified_absences_count", "twenty_four_hour_rule"):
        return text == "on"
    if name in ("curriculum", "closure_policy"):
        return text
    return int(text) if text.lstrip("-").isdigit() else text  # intake refuses a non-number


@blp.post("/<site_id>/programs/<program_id>/settings")
@roles("operator")
def save(site_id: str, program_id: str):
    """Send intake the settings that changed (the others keep their values); back to the site."""
    site, program = _program(site_id, program_id)
    values = forms.submitted()
    current = program.get("settings") or {}
    changed = {
        s.name: _from_text(s.name, values[s.name])
        for s in program_settings.SETTINGS
        if s.name in values and values[s.name] != _as_text(current.get(s.name))
    }
    if changed:
        path = f"/v1/sites/{segment(site_id)}/programs/{segment(program_id)}"
        try:
            api().patch("intake", path, {"settings": changed})
        except ServiceRefused as exc:
            wording = {f"settings.{s.name}": "" for s in program_settings.SETTINGS}
            errors, form_error = forms.refusal(exc, wording)
            errors = {name.removeprefix("settings."): message for name, message in errors.items()}
            return _form(site, program, values, errors, form_error, 422)
    return redirect(url_for("organisation.site", site_id=site_id), code=303)
