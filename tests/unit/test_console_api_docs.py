"""The services' API documents in the console's own Swagger UI (swagger-ui-dist, no CDN):
each document fetched by the console from the service, read-only, for operators and ops."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from console import bootstrap
from console.app import create_app
from console.testing import FakeProvider, FakeServices

SPEC = {"openapi": "3.1.0", "info": {"title": "Intake", "version": "v1"}, "paths": {}}


def signed_in(clock, services, roles):
    provider = FakeProvider(clock)
    provider.sign_in_as("Someone", roles)
    client = create_app(bootstrap.in_memory(clock, provider, services)).test_client()
    started = client.get("/auth/sign-in")
    state = parse_qs(urlsplit(started.headers["Location"]).query)["state"][0]
    client.get(f"/auth/callback?code=c&state={state}")
    return client


def test_an_operator_reads_a_services_document_in_the_consoles_own_swagger_ui(clock):
    services = FakeServices(bootstrap.settings_for_tests().service_urls)
    services.on("GET", "intake", "/openapi.json", SPEC)
    client = signed_in(clock, services, ["operator"])
    page = client.get("/api-docs/intake").get_data(as_text=True)
    assert 'src="/static/vendor/swagger-ui/swagger-ui-bundle.js"' in page
    assert 'data-spec-url="/api-docs/intake/openapi.json"' in page
    assert "://" not in page  # nothing loaded from another host
    assert client.get("/api-docs/intake/openapi.json").get_json() == SPEC


def test_a_service_that_does_not_answer_is_named(clock):
    services = FakeServices(bootstrap.settings_for_tests().service_urls)
    services.down.add("coaching")
    answer = signed_in(clock, services, ["ops"]).get("/api-docs/coaching/openapi.json")
    assert answer.status_code == 503 and b"coaching" in answer.data


def test_the_documents_are_for_operators_and_ops_only(clock):
    services = FakeServices(bootstrap.settings_for_tests().service_urls)
    client = signed_in(clock, services, ["coordinator"])
    assert client.get("/api-docs/intake").status_code == 403
    assert client.get("/api-docs/intake/openapi.json").status_code == 403
    assert [c["path"] for c in services.calls] == ["/v1/staff/me/roles"]  # at sign-in only
