"""The API document of every service (``/openapi.json``, flask-smorest) and its Swagger UI page
(``/docs``), served whole by the service itself: no page loads anything from outside the platform.

The Swagger UI files come from npm's ``swagger-ui-dist`` (the version the console's committed
lock file fixes), copied at setup into this package's git-ignored ``static/swagger-ui/`` by
``python -m dbt_shared.openapi <node_modules>/swagger-ui-dist`` (devstack does it with the
console's assets); the page asks for them under ``/docs/assets/``.
"""

from __future__ import annotations

import http
import shutil
import sys
from pathlib import Path
from typing import Any

from apispec.ext.marshmallow import MarshmallowPlugin, OpenAPIConverter, resolver
from flask import Flask, request, send_from_directory
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from dbt_shared.problems import CONTENT_TYPE, PROBLEM_TYPE_BASE, Problem, field_errors, title_for

#: Where the setup step puts the Swagger UI files, and the names the page asks for.
SWAGGER_UI_DIR = Path(__file__).resolve().parent / "static" / "swagger-ui"
SWAGGER_UI_FILES = ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js")
SWAGGER_UI_ASSETS = "/docs/assets/"


def document_config(title: str, description: str) -> dict[str, Any]:
    """flask-smorest's settings for the document and its page."""
    return {
        "API_TITLE": title,
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.1.0",
        "OPENAPI_URL_PREFIX": "/",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        "OPENAPI_SWAGGER_UI_URL": SWAGGER_UI_ASSETS,
        # Swagger UI's default shows a badge from the public validator (validator.swagger.io).
        "OPENAPI_SWAGGER_UI_CONFIG": {"validatorUrl": None},
        "API_SPEC_OPTIONS": {
            "info": {"description": description},
            "components": {
                "securitySchemes": {
                    "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
                }
            },
            "security": [{"bearerAuth": []}],
        },
    }


def install_swagger_ui_assets(app: Flask) -> None:
    """``/docs/assets/<file>``: the Swagger UI files the ``/docs`` page loads, from this
    package. Without the setup step the page is there, its files answer 404."""

    @app.get(SWAGGER_UI_ASSETS + "<name>")
    def swagger_ui_asset(name: str):
        if name not in SWAGGER_UI_FILES or not (SWAGGER_UI_DIR / name).is_file():
            raise Problem(404, "Not Found", "No such file.")
        return send_from_directory(SWAGGER_UI_DIR, name, max_age=3600)


def copy_swagger_ui(source: Path, destination: Path = SWAGGER_UI_DIR) -> list[Path]:
    """Copy the files the page loads from an unpacked ``swagger-ui-dist`` into ``destination``;
    raise FileNotFoundError naming the first one missing."""
    copied = []
    destination.mkdir(parents=True, exist_ok=True)
    for name in SWAGGER_UI_FILES:
        if not (source / name).is_file():
            raise FileNotFoundError(f"{source / name} missing: is {source} swagger-ui-dist?")
        shutil.copyfile(source / name, destination / name)
        copied.append(destination / name)
    return copied


class FieldError(Schema):
    field = fields.String(allow_none=True, metadata={"example": "client.email"})
    location = fields.String(metadata={"example": "json"})
    message = fields.String(metadata={"example": "Not a valid email address."})


class ProblemDetails(Schema):
    """RFC 9457 problem details, the body of every error response.

    A service declares the extension members its domain errors carry (``problem_members`` of
    ``create_service_app``), so the document describes every member a problem can have.
    """

    type = fields.String(
        required=True, metadata={"example": "https://dbt-platform.example/problems/not-found"}
    )
    title = fields.String(required=True, metadata={"example": "Not Found"})
    status = fields.Integer(required=True, metadata={"example": 404})
    detail = fields.String()
    instance = fields.String(metadata={"example": "/v1/referrals/01a2"})
    errors = fields.List(fields.Nested(FieldError))
    checks = fields.Dict(
        keys=fields.String(),
        values=fields.Boolean(),
        metadata={"description": "readiness: which dependency answered"},
    )


def problem_schema(members: dict[str, fields.Field] | None) -> type[Schema]:
    """``ProblemDetails`` with a service's extension members declared."""
    if not members:
        return ProblemDetails
    return type("ProblemDetails", (ProblemDetails,), dict(members))


class ProblemApi(Api):
    """flask-smorest's Api answering (and documenting) every HTTP error as a problem body."""

    ERROR_SCHEMA: type[Schema] = ProblemDetails

    def __init__(self, app: Flask, *, error_schema: type[Schema], **kwargs: Any) -> None:
        self.ERROR_SCHEMA = error_schema
        super().__init__(app, **kwargs)

    def _register_responses(self):
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, CONTENT_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "A problem (RFC 9457)", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, CONTENT_TYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)

    def handle_http_exception(self, error: HTTPException):
        data = getattr(error, "data", None) or {}
        errors = None
        if "messages" in data:  # webargs validation errors, keyed by location
            errors = []
            for location, messages in data["messages"].items():
                errors.extend(field_errors(messages, location))
        status = error.code or 500
        title = title_for(status)
        detail = data.get("message") or error.description
        if status == 422:
            detail = "The request has invalid fields; see errors."
        headers = dict(data.get("headers") or {})
        if isinstance(error, MethodNotAllowed) and error.valid_methods:
            headers["Allow"] = ", ".join(sorted(error.valid_methods))  # RFC 9110 section 15.5.6
        problem = Problem(
            status,
            title,
            detail,
            type_=PROBLEM_TYPE_BASE + title.lower().replace(" ", "-"),
            errors=errors,
            headers=headers,
        )
        return problem.to_response(instance=request.path)


def _schema_name(schema: Any) -> str:
    """OpenAPI component names: the class name, ``Partial`` in front of a partial instance
    (a PATCH body reusing its POST schema), instead of apispec's numbered duplicates."""
    name = resolver(schema)
    return f"Partial{name}" if getattr(schema, "partial", False) else name


class _Converter(OpenAPIConverter):
    """apispec's converter, plus what fields cannot say about a whole schema: a schema's
    ``Meta.json_schema`` (say, an ``if``/``then`` rule between two of its fields, which its
    ``@validates_schema`` enforces) is merged into its component."""

    def schema2jsonschema(self, schema):
        jsonschema = super().schema2jsonschema(schema)
        jsonschema.update(getattr(getattr(schema, "Meta", None), "json_schema", None) or {})
        return jsonschema

    def field2property(self, field):
        prop = super().field2property(field)
        # ``load_default=None`` on a field that does not take null (an absent query argument)
        # is no JSON default: ``default: null`` on ``type: string`` is an invalid document.
        if "default" in prop and prop["default"] is None and not field.allow_none:
            del prop["default"]
        return prop


class _Plugin(MarshmallowPlugin):
    Converter = _Converter


def create_api(app: Flask, problem_members: dict[str, fields.Field] | None) -> ProblemApi:
    """The app's document, its problem bodies declaring ``problem_members``, with its page."""
    install_swagger_ui_assets(app)
    return ProblemApi(
        app,
        error_schema=problem_schema(problem_members),
        spec_kwargs={"marshmallow_plugin": _Plugin(schema_name_resolver=_schema_name)},
    )


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write("usage: python -m dbt_shared.openapi <path of swagger-ui-dist>\n")
        return 2
    try:
        copied = copy_swagger_ui(Path(argv[0]))
    except FileNotFoundError as exc:
        sys.stderr.write(f"swagger ui: {exc}\n")
        return 1
    sys.stdout.write(f"swagger ui: {len(copied)} files copied into {SWAGGER_UI_DIR}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
