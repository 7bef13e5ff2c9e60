"""Adding a staff member who is already in the directory is refused at the user id field,
with what was typed kept and nothing sent: intake's PUT replaces a member, so it would have
taken away their roles at every site not ticked on the form."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from console import bootstrap
from console.app import create_app
from console.testing import FakeProvider, FakeServices

CARLA = "0c1e0000-0000-4000-8000-00000000000b"


def test_adding_someone_already_on_the_staff_is_refused_at_the_user_id(clock):
    services = FakeServices(bootstrap.settings_for_tests().service_urls)
    services.on(
        "GET",
        "intake",
        "/v1/sites",
        {"items": [{"id": "site-north", "name": "North"}, {"id": "site-south", "name": "South"}]},
    )
    services.on(
        "GET",
        "intake",
        f"/v1/staff/{CARLA}",
        {
            "id": CARLA,
            "display_name": "Carla Costa",
            "active": True,
            "memberships": [{"site_id": "site-north", "roles": ["coordinator"]}],
        },
    )
    provider = FakeProvider(clock)
    provider.sign_in_as("Olivia Operator", ["operator"])
    client = create_app(bootstrap.in_memory(clock, provider, services)).test_client()
    started = client.get("/auth/sign-in")
    state = parse_qs(urlsplit(started.headers["Location"]).query)["state"][0]
    client.get(f"/auth/callback?code=c&state={state}")
    form = client.get("/staff/new").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', form).group(1)

    answer = client.post(
        "/staff/new",
        data={
            "csrf_token": token,
            "subject": CARLA,
            "display_name": "Carla Costa",
            "roles.site-south": ["coordinator"],
        },
    )
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    message = re.search(r'id="f-subject-error">(.*?)</span>(.*?)<', html, re.S)
    assert message is not None and "already on the staff" in message.group(2)
    assert f'value="{CARLA}"' in html and 'value="Carla Costa"' in html
    assert [c for c in services.calls if c["method"] == "PUT"] == []  # her North role kept
