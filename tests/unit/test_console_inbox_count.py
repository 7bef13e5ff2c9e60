"""Marking an inbox item read with htmx swaps its row and the site's unread count: the page
no longer shows the count from before the mark."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from console import bootstrap
from console.app import create_app
from console.testing import FakeProvider, FakeServices

COUNT = "/v1/sites/site-south/inbox/unread-count"


def test_marking_an_item_read_with_htmx_sends_the_new_unread_count(clock):
    services = FakeServices(bootstrap.settings_for_tests().service_urls)
    services.on("GET", "intake", "/v1/sites", {"items": [{"id": "site-south", "name": "South"}]})
    services.on("GET", "notifications", COUNT, {"site_id": "site-south", "unread": 3})
    item = {
        "id": "i1",
        "kind": "referral_received",
        "priority": "normal",
        "referral_id": "r-1",
        "status": "open",
        "created_at": "2026-03-03T09:00:00+00:00",
    }
    services.on("GET", "notifications", "/v1/inbox", {"items": [item], "next_cursor": None})
    provider = FakeProvider(clock)
    provider.sign_in_as("Carla Coordinator", ["coordinator"], ["site-south"])
    client = create_app(bootstrap.in_memory(clock, provider, services)).test_client()
    started = client.get("/auth/sign-in")
    state = parse_qs(urlsplit(started.headers["Location"]).query)["state"][0]
    client.get(f"/auth/callback?code=c&state={state}")

    html = client.get("/inbox").get_data(as_text=True)
    assert re.search(r'<p id="inbox-unread"[^>]*><strong>3</strong> unread', html)
    token = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)

    services.on(
        "POST",
        "notifications",
        "/v1/sites/site-south/inbox/i1/read",
        {**item, "read_at": "2026-03-03T15:00:00+00:00"},
    )
    services.on("GET", "notifications", COUNT, {"site_id": "site-south", "unread": 2})
    answer = client.post(
        "/inbox/site-south/i1/read", headers={"HX-Request": "true", "X-CSRF-Token": token}
    ).get_data(as_text=True)
    assert answer.strip().startswith("<tr") and "Read 2026-03-03" in answer
    count = re.search(r'<p id="inbox-unread"([^>]*)><strong>(\d+)</strong>', answer)
    assert count is not None and count.group(2) == "2"
    assert 'hx-swap-oob="true"' in count.group(1)
