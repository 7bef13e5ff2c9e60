"""No page of the platform loads anything from outside it: the services' own Swagger UI page
(``/docs``) asks for its files from the service itself (``dbt_shared.openapi``, swagger-ui-dist
copied at setup), never from a CDN or the public validator; the console's start page likewise."""

from __future__ import annotations

import importlib
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from dbt_shared import openapi
from devstack import SERVICES, module_name


class _Urls(HTMLParser):
    """Every URL an HTML page makes the browser load or follow."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href", "action", "data", "poster", "srcset") and value:
                self.urls.append(value)


def page_urls(html: str) -> list[str]:
    parser = _Urls()
    parser.feed(html)
    return parser.urls


def outside(url: str) -> bool:
    parts = urlsplit(url)
    return bool(parts.scheme or parts.netloc)


def service_app(service: str, clock):
    package = module_name(service)
    bootstrap = importlib.import_module(f"{package}.bootstrap")
    return importlib.import_module(f"{package}.app").create_app(bootstrap.in_memory(clock))


@pytest.mark.parametrize("service", SERVICES)
def test_a_services_docs_page_loads_swagger_ui_from_the_service_itself(service, api_env, clock):
    page = service_app(service, clock).test_client().get("/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    urls = page_urls(html)
    assert sorted(urls) == sorted(
        "/docs/assets/" + name
        for name in ("swagger-ui.css", "swagger-ui-standalone-preset.js", "swagger-ui-bundle.js")
    )
    assert not [url for url in urls if outside(url)]
    assert "://" not in html  # no host named anywhere, in the inline config either
    assert '"validatorUrl": null' in html  # Swagger UI's default badge is validator.swagger.io


def test_the_docs_page_files_are_served_by_the_service(api_env, clock, tmp_path, monkeypatch):
    dist = tmp_path / "swagger-ui-dist"  # an unpacked swagger-ui-dist, as npm leaves it
    dist.mkdir()
    for name in (*openapi.SWAGGER_UI_FILES, "index.html"):
        (dist / name).write_text(f"/* {name} */")
    copied = openapi.copy_swagger_ui(dist, tmp_path / "static")
    assert sorted(p.name for p in copied) == sorted(openapi.SWAGGER_UI_FILES)
    monkeypatch.setattr(openapi, "SWAGGER_UI_DIR", tmp_path / "static")
    client = service_app("intake", clock).test_client()
    for url in page_urls(client.get("/docs").get_data(as_text=True)):
        answer = client.get(url)
        assert answer.status_code == 200, url
        assert answer.get_data(as_text=True) == f"/* {Path(url).name} */"
    # only the page's own files: nothing else of the package or the disk
    for name in ("index.html", "..%2Fopenapi.py", "openapi.py", "%2Fetc%2Fpasswd"):
        answer = client.get("/docs/assets/" + name)
        assert answer.status_code == 404, name
        assert answer.content_type == "application/problem+json"


def test_a_missing_swagger_ui_dist_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"swagger-ui\.css missing"):
        openapi.copy_swagger_ui(tmp_path, tmp_path / "static")
    assert openapi.main([str(tmp_path)]) == 1


def test_the_consoles_start_page_loads_nothing_from_outside(clock):
    from console import bootstrap
    from console.app import create_app
    from console.testing import FakeProvider, FakeServices

    services = FakeServices(bootstrap.settings_for_tests().service_urls)
    provider = FakeProvider(clock)
    client = create_app(bootstrap.in_memory(clock, provider, services)).test_client()
    html = client.get("/").get_data(as_text=True)
    urls = page_urls(html)
    assert urls and not [url for url in urls if outside(url)]
    # signed in, the home page too
    provider.sign_in_as("Olivia", ["operator"])
    started = client.get("/auth/sign-in")
    state = parse_qs(urlsplit(started.headers["Location"]).query)["state"][0]
    client.get(f"/auth/callback?code=c&state={state}")
    home = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert not [url for url in page_urls(home) if outside(url)]
