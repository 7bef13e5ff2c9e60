"""Form helpers shared by the pages: values in, a service's refusal out as messages by field."""

from __future__ import annotations

import uuid
from typing import Any

from flask import request

from console.client import ServiceRefused

#: What a service says of a missing required field, replaced by the page's own words.
MISSING = "Missing data for required field."

#: The services' (Marshmallow's) type messages, in the words of the NHS.UK design system.
PLAIN = {
    "Not a valid integer.": "Enter a whole number",
    "Not a valid number.": "Enter a number",
    "Not a valid email address.": (
        "Enter an email address in the correct format, like name@example.com"
    ),
    "Not a valid date.": "Enter a real date",
    "Not a valid datetime.": "Enter a real date and time",
    "Not a valid time.": "Enter a time, like 17:30",
    "Not a valid boolean.": "Choose yes or no",
    "Field may not be null.": "Enter a value",
    "Shorter than minimum length 1.": "Enter a value",
}


def submitted() -> dict[str, str]:
    """The form's values, trimmed (the CSRF token and the idempotency key left out)."""
    return {
        key: value.strip()
        for key, value in request.form.items()
        if key not in ("csrf_token", "idempotency_key")
    }


def idempotency_key() -> str:
    """The key the form was drawn with (a retried submit creates nothing twice), or a new one."""
    key = request.form.get("idempotency_key", "")
    return key if 8 <= len(key) <= 64 and key.replace("-", "").isalnum() else str(uuid.uuid4())


def nested(values: dict[str, str], names: list[str]) -> dict[str, Any]:
    """``{"client.email": "a@b"}`` -> ``{"client": {"email": "a@b"}}`` for the given names;
    empty values are left out, so the service reports a missing required field as missing."""
    body: dict[str, Any] = {}
    for name in names:
        value = values.get(name, "")
        if value == "":
            continue
        target = body
        *parents, leaf = name.split(".")
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = value
    return body


def refusal(exc: ServiceRefused, wording: dict[str, str]) -> tuple[dict[str, str], str | None]:
    """A service's refusal as (messages by field, message for the whole form).

    A 422's field messages go next to their fields, a missing field in the page's own words
    (``wording``); a message for a field the form does not show, and any other refusal (409...),
    goes at the top of the form. A 403/404 is not a form's business: re-raised."""
    if exc.status in (403, 404):
        raise exc
    errors: dict[str, str] = {}
    for field, message in exc.field_errors.items():
        if message == MISSING:
            errors[field] = wording.get(field, message)
        else:
            errors[field] = PLAIN.get(message, message)
    shown = {k: v for k, v in errors.items() if k in wording}
    form_error = None
    if len(shown) < len(errors) or not errors:
        form_error = (
            exc.detail
            if not errors
            else "Some details were not accepted: "
            + "; ".join(f"{k}: {v}" for k, v in errors.items() if k not in wording)
        )
    return shown, form_error
