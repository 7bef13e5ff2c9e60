"""The operator's program pages: add a program on the standard settings; change some settings
with the standard value beside each, only the changed ones sent, refusals at their fields."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from console import bootstrap
from console.app import create_app
from console.domain.program_settings import STANDARD
from console.testing import FakeProvider, FakeServices, problem

SITE = {
    "id": "site-north",
    "name": "North Clinic",
    "timezone": "Europe/London",
    "intake_email": "intake@north.example",
    "clinical_lead": None,
}
ADULT = {
    "id": "site-north:adult",
    "kind": "adult",
    "site_id": "site-north",
    "settings": dict(STANDARD["adult"]),
}
SETTINGS_PAGE = "/sites/site-north/programs/site-north:adult/settings"


@pytest.fixture
def services():
    fake = FakeServices(bootstrap.settings_for_tests().service_urls)
    fake.on("GET", "intake", "/v1/sites/site-north", SITE)
    fake.on("GET", "intake", "/v1/sites/site-north/programs", {"items": [ADULT]})
    fake.on("GET", "intake", "/v1/sites/site-north/clinicians", {"items": []})
    return fake


@pytest.fixture
def operator(clock, services):
    provider = FakeProvider(clock)
    provider.sign_in_as("Olivia Operator", ["operator"])
    client = create_app(bootstrap.in_memory(clock, provider, services)).test_client()
    started = client.get("/auth/sign-in")
    state = parse_qs(urlsplit(started.headers["Location"]).query)["state"][0]
    client.get(f"/auth/callback?code=c&state={state}")
    return client


def form_values(html: str) -> dict[str, str]:
    """What the browser would send back: every input's value and every select's chosen one."""
    values = dict(
        re.findall(
            r'<input class="nhsuk-input[^"]*" id="[^"]+" name="([^"]+)"'
            r' type="text" value="([^"]*)"',
            html,
        )
    )
    for name, body in re.findall(r'<select [^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        values[name] = re.search(r'value="([^"]*)" selected', body).group(1)
    values["csrf_token"] = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
    return values


def test_the_site_offers_the_program_it_lacks_on_the_standard_settings(operator, services):
    services.on("POST", "intake", "/v1/sites/site-north/programs", {**ADULT, "kind": "adolescent"})
    html = operator.get("/sites/site-north").get_data(as_text=True)
    assert "Add the adolescent program" in html and "Add the adult program" not in html
    token = form_values(operator.get(SETTINGS_PAGE).get_data(as_text=True))["csrf_token"]
    answer = operator.post(
        "/sites/site-north/programs", data={"csrf_token": token, "kind": "adolescent"}
    )
    assert answer.status_code == 303
    assert [c["body"] for c in services.calls if c["method"] == "POST"] == [{"kind": "adolescent"}]


def test_the_settings_form_shows_each_standard_value_and_sends_only_what_changed(
    operator, services
):
    services.on("PATCH", "intake", "/v1/sites/site-north/programs/site-north:adult", ADULT)
    html = operator.get(SETTINGS_PAGE).get_data(as_text=True)
    assert "Standard DBT: 4 sessions." in html and "Standard DBT: On." in html
    values = form_values(html)
    assert values["group_capacity"] == "8" and values["twenty_four_hour_rule"] == "on"
    values |= {"group_capacity": "10", "twenty_four_hour_rule": "off"}
    answer = operator.post(SETTINGS_PAGE, data=values)
    assert answer.status_code == 303 and answer.headers["Location"] == "/sites/site-north"
    (call,) = [c for c in services.calls if c["method"] == "PATCH"]
    assert call["body"] == {"settings": {"group_capacity": 10, "twenty_four_hour_rule": False}}


def test_saving_without_a_change_sends_nothing(operator, services):
    values = form_values(operator.get(SETTINGS_PAGE).get_data(as_text=True))
    assert operator.post(SETTINGS_PAGE, data=values).status_code == 303
    assert not [c for c in services.calls if c["method"] == "PATCH"]


def test_a_refused_setting_is_shown_at_its_field_with_the_value_typed(operator, services):
    services.on(
        "PATCH",
        "intake",
        "/v1/sites/site-north/programs/site-north:adult",
        problem(
            422,
            "invalid",
            [
                {
                    "field": "settings.group_capacity",
                    "location": "json",
                    "message": "Must be greater than or equal to 1 and less than or equal to 20.",
                }
            ],
        ),
    )
    values = form_values(operator.get(SETTINGS_PAGE).get_data(as_text=True))
    answer = operator.post(SETTINGS_PAGE, data={**values, "group_capacity": "40"})
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    group = html[html.index('for="f-group-capacity"') : html.index('id="f-group-capacity"') + 200]
    assert "less than or equal to 20" in group and 'value="40"' in group
    assert 'href="#f-group-capacity"' in html
