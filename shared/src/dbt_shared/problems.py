"""RFC 9457 problem details: every error a client sees has this one shape."""

from __future__ import annotations

import http
import re
from typing import Any

from flask import Response, json

PROBLEM_TYPE_BASE = "https://dbt-platform.example/problems/"
CONTENT_TYPE = "application/problem+json"

# One title per status, in RFC 9110's words (Python's http module still says "Entity" for 422).
TITLES = {status.value: status.phrase for status in http.HTTPStatus}
TITLES[413] = "Content Too Large"
TITLES[422] = "Unprocessable Content"


def title_for(status: int) -> str:
    return TITLES.get(status, "Error")


class Problem(Exception):
    """Raise anywhere in a request to answer with a problem body."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        type_: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title_for(status)  # never the caller's wording: one title per status
        self.detail = detail
        self.type = type_ or PROBLEM_TYPE_BASE + self.title.lower().replace(" ", "-")
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra or {}

    def to_response(self, instance: str | None = None) -> Response:
        body: dict[str, Any] = {"type": self.type, "title": self.title, "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        response = Response(json.dumps(body), status=self.status, mimetype=CONTENT_TYPE)
        for key, value in self.headers.items():
            response.headers[key] = value
        return response


#: A key that can name a field. Error messages are keyed by what the client sent (an unknown
#: member, a map's key): any other key is shown as ``UNNAMED_KEY``, so no problem body repeats
#: a submitted value, however it was sent.
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}\Z")
UNNAMED_KEY = "<key>"


def field_errors(messages: Any, location: str = "json", prefix: str = "") -> list[dict[str, Any]]:
    """Flatten marshmallow's nested error messages into ``[{field, location, message}]``."""
    flat: list[dict[str, Any]] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            if isinstance(key, int):  # an item of a list
                path = f"{prefix}[{key}]"
            else:
                name = key if isinstance(key, str) and _FIELD_NAME.match(key) else UNNAMED_KEY
                path = f"{prefix}.{name}" if prefix else name
            flat.extend(field_errors(value, location, path))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        for message in messages:
            flat.append({"field": prefix or None, "location": location, "message": message})
    elif isinstance(messages, list):
        for index, value in enumerate(messages):
            flat.extend(field_errors(value, location, f"{prefix}[{index}]"))
    else:
        flat.append({"field": prefix or None, "location": location, "message": str(messages)})
    return flat
