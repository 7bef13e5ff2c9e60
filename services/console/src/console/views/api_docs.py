"""The services' API documents in Swagger UI, served by the console from ``swagger-ui-dist``
(no CDN): each service's ``/openapi.json`` is fetched on the server and handed to the page.

Read-only: "Try it out" is off, since calling an API needs a token the browser never holds.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, json, render_template

from console.client import ServiceUnavailable
from console.settings import SERVICE_URL_VARIABLES
from console.web import components, roles

blp = Blueprint("api_docs", __name__, url_prefix="/api-docs")

#: Who reads the API documents: the people who run the platform.
READERS = ("operator", "ops")


@blp.get("")
@roles(*READERS)
def index():
    return render_template("api_docs/index.html", services=list(SERVICE_URL_VARIABLES))


@blp.get("/<service>")
@roles(*READERS)
def page(service: str):
    if service not in SERVICE_URL_VARIABLES:
        abort(404)
    return render_template("api_docs/swagger.html", service=service)


@blp.get("/<service>/openapi.json")
@roles(*READERS)
def document(service: str):
    """The service's document, fetched by the console (the APIs' own addresses stay inside)."""
    if service not in SERVICE_URL_VARIABLES:
        abort(404)
    client = components().services
    try:
        answer = client.transport(
            "GET",
            client.urls[service] + "/openapi.json",
            {"Accept": "application/json"},
            None,
            None,
            client.timeout_s,
        )
    except Exception as exc:
        raise ServiceUnavailable(service) from exc
    if answer.status != 200 or not isinstance(answer.body, dict):
        raise ServiceUnavailable(service)
    return Response(json.dumps(answer.body), mimetype="application/json")
