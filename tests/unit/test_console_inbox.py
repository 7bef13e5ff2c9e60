"""The coordinator's site inbox: urgent items first as notifications lists them, each opening
its referral by id, the unread count, and marking an item read (a whole page without JS, the
row alone for htmx)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from console import bootstrap
from console.app import create_app
from console.testing import FakeProvider, FakeServices

RID = "0d9a1f2e-7c41-4e55-9b0a-1c2d3e4f5a6b"


def test_the_inbox_shows_the_sites_items_urgent_first_with_links_to_referrals(clock):
    services = FakeServices(bootstrap.settings_for_tests().service_urls)
    services.on(
        "GET",
        "intake",
        "/v1/sites",
        {"items": [{"id": "site-north", "name": "North"}, {"id": "site-south", "name": "South"}]},
    )
    services.on(
        "GET",
        "notifications",
        "/v1/sites/site-south/inbox/unread-count",
        {"site_id": "site-south", "unread": 1},
    )
    services.on(
        "GET",
        "notifications",
        "/v1/inbox",
        {
            "items": [
                {
                    "id": "i1",
                    "kind": "risk_flagged",
                    "priority": "urgent",
                    "referral_id": RID,
                    "status": "open",
                    "created_at": "2026-03-03T09:00:00+00:00",
                },
                {
                    "id": "i2",
                    "kind": "referral_received",
                    "priority": "normal",
                    "referral_id": "r-2",
                    "status": "open",
                    "created_at": "2026-03-02T09:00:00+00:00",
                    "read_at": "2026-03-02T10:00:00+00:00",
                },
            ],
            "next_cursor": None,
        },
    )
    provider = FakeProvider(clock)
    provider.sign_in_as("Carla Coordinator", ["coordinator"], ["site-south"])
    client = create_app(bootstrap.in_memory(clock, provider, services)).test_client()
    started = client.get("/auth/sign-in")
    state = parse_qs(urlsplit(started.headers["Location"]).query)["state"][0]
    client.get(f"/auth/callback?code=c&state={state}")

    html = client.get("/inbox").get_data(as_text=True)
    shown = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert "1 unread, urgent first." in shown
    assert shown.count("Mark as read") == 1 and "Read 2026-03-02" in shown
    assert shown.index("Urgent Risk flagged at screening") < shown.index("New referral")
    assert f'href="/referrals/{RID}"' in html
    (listed,) = [c for c in services.calls if c["path"] == "/v1/inbox"]
    assert listed["params"]["site_id"] == "site-south"  # the coordinator's own site first

    services.on(
        "POST",
        "notifications",
        "/v1/sites/site-south/inbox/i1/read",
        {
            "id": "i1",
            "kind": "risk_flagged",
            "priority": "urgent",
            "referral_id": RID,
            "status": "open",
            "read_at": "2026-03-03T15:00:00+00:00",
        },
    )
    token = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
    page = client.post("/inbox/site-south/i1/read", data={"csrf_token": token})
    assert page.status_code == 303 and page.headers["Location"] == "/inbox?site=site-south"
    row = client.post(
        "/inbox/site-south/i1/read", headers={"HX-Request": "true", "X-CSRF-Token": token}
    )
    fragment = row.get_data(as_text=True).strip()
    assert fragment.startswith("<tr") and "Read 2026-03-03" in fragment and "<html" not in fragment
