"""What the console page tests share: two sites and a referral as intake answers them, signing
in, and what a reader sees of a page (``text``, ``title``). Used by ``test_console_pages``,
``test_console_queue``, ``test_console_referral_page`` and ``test_console_overview``."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

NORTH = {
    "id": "site-north",
    "name": "North Clinic",
    "timezone": "Europe/London",
    "intake_email": "intake@north.example",
    "clinical_lead": None,
}
SOUTH = {**NORTH, "id": "site-south", "name": "South Clinic"}
REFERRAL_ID = "0d9a1f2e-7c41-4e55-9b0a-1c2d3e4f5a6b"
REFERRAL = {
    "id": REFERRAL_ID,
    "site_id": "site-north",
    "program": "adult",
    "source": "GP",
    "status": "screening",
    "consent_to_contact": True,
    "received_at": "2026-02-01T10:00:00Z",
    "client": {
        "given_name": "Alex",
        "family_name": "Rivera",
        "date_of_birth": "1994-03-17",
        "email": "alex@example.org",
        "phone": "+44 20 7946 0000",
        "preferred_channel": "sms",
        "language": "en",
    },
    "screenings": [],
    "history": [],
}


def signed_in(client, provider, name, roles, sites=()):
    provider.sign_in_as(name, list(roles), list(sites))
    started = client.get("/auth/sign-in")
    state = parse_qs(urlsplit(started.headers["Location"]).query)["state"][0]
    client.get(f"/auth/callback?code=c&state={state}")
    return client


def csrf(client) -> str:
    page = client.get("/home", follow_redirects=True).get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def text(response) -> str:
    """What a sighted reader sees, in order (a responsive table's narrow-screen labels left out)."""
    html = re.sub(
        r'<span class="nhsuk-table-responsive__heading"[^>]*>[^<]*</span>',
        "",
        response.get_data(as_text=True),
    )
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def title(response) -> str:
    return re.search(r"<title>(.*?)</title>", response.get_data(as_text=True), re.S).group(1)
