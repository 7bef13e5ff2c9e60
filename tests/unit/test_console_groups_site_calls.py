"""What "My groups" costs: the same service calls for a facilitator of one site as for one of
twenty (and for an operator over every site), never a call per site. Counted by the console's
own service client (``Console-Service-Calls``); the services' HTTP is faked."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from console import bootstrap
from console.app import create_app
from console.testing import FakeProvider, FakeServices, page


def _site(n: int) -> str:
    return f"site-{n:02d}"


def _group(n: int) -> dict:
    return {
        "id": f"grp-{n:02d}",
        "site_id": _site(n),
        "program_id": f"{_site(n)}:adult",
        "name": f"Group of site {n}",
        "weekday": "tue",
        "start_time": "18:00",
        "duration_minutes": 150,
        "room": "Room 2",
        "facilitator_ids": [f"clin-fiona-{n}", f"clin-ben-{n}"],
        "co_leader_missing": False,
        "starts_on": "2026-02-24",
        "curriculum": "M2 DT6",
        "cycles": 1,
        "capacity": 8,
    }


def _clinicians(n: int) -> list[dict]:
    return [
        {"id": f"clin-fiona-{n}", "subject": "fiona", "display_name": "Fiona Facilitator"},
        {"id": f"clin-ben-{n}", "subject": "ben", "display_name": f"Ben of site {n}"},
    ]


def _services(sites: int) -> FakeServices:
    """``sites`` sites, one group at each, led by fiona and that site's Ben."""
    fake = FakeServices(bootstrap.settings_for_tests().service_urls)
    fake.on(
        "GET",
        "intake",
        "/v1/sites",
        {"items": [{"id": _site(n), "name": f"Site {n}"} for n in range(sites)]},
    )
    for n in range(sites):
        fake.on("GET", "intake", f"/v1/sites/{_site(n)}/clinicians", {"items": _clinicians(n)})
    fake.on(
        "POST",
        "intake",
        "/v1/clinicians/display-names",
        lambda _q, body: {
            "items": [
                {**c, "clinician_id": c["id"], "site_id": _site(n)}
                for n in range(sites)
                for c in _clinicians(n)
                if c["id"] in body["clinician_ids"]
            ]
        },
    )
    fake.on(
        "GET",
        "skills-group",
        "/v1/groups",
        lambda params, _b: page(
            [
                _group(n)
                for n in range(sites)
                if not (params or {}).get("site_id") or params["site_id"] == _site(n)
            ]
        ),
    )
    return fake


def _signed_in(clock, services, roles, sites):
    provider = FakeProvider(clock)
    client = create_app(bootstrap.in_memory(clock, provider, services)).test_client()
    provider.sign_in_as("Fiona Facilitator", roles, sites, sub="fiona")
    started = client.get("/auth/sign-in")
    state = parse_qs(urlsplit(started.headers["Location"]).query)["state"][0]
    client.get(f"/auth/callback?code=c&state={state}")
    return client


def _cost(clock, sites: int, roles: list[str]) -> tuple[int, int, str]:
    services = _services(sites)
    token_sites = [_site(n) for n in range(sites)] if "operator" not in roles else []
    client = _signed_in(clock, services, roles, token_sites)
    before = len(services.calls)
    page = client.get("/groups")
    assert page.status_code == 200
    made = len(services.calls) - before
    return int(page.headers["Console-Service-Calls"]), made, page.get_data(as_text=True)


@pytest.mark.parametrize("roles", [["facilitator"], ["operator"]], ids=["facilitator", "operator"])
def test_my_groups_makes_the_same_calls_for_twenty_sites_as_for_one(clock, roles):
    one = _cost(clock, 1, roles)
    twenty = _cost(clock, 20, roles)
    assert one[0] == one[1] and twenty[0] == twenty[1]  # the header counts every call made
    assert twenty[0] == one[0], f"{one[0]} calls for 1 site, {twenty[0]} for 20"
    page = twenty[2]
    assert "Group of site 19" in page and "Ben of site 19" in page  # every site's groups, named


def test_my_groups_still_puts_the_groups_i_lead_first_at_each_site(clock):
    services = _services(3)
    client = _signed_in(clock, services, ["facilitator"], [_site(n) for n in range(3)])
    services.on(  # at site 2 fiona leads nothing: its group is among the site's others
        "POST",
        "intake",
        "/v1/clinicians/display-names",
        lambda _q, body: {
            "items": [
                {
                    **c,
                    "clinician_id": c["id"],
                    "site_id": _site(n),
                    "subject": "someone" if n == 2 else c["subject"],
                }
                for n in range(3)
                for c in _clinicians(n)
                if c["id"] in body["clinician_ids"]
            ]
        },
    )
    page = client.get("/groups").get_data(as_text=True)
    site2 = page[page.index("Site 2") :]
    assert site2.index("other groups") < site2.index("Group of site 2")
    site1 = page[page.index("Site 1") : page.index("Site 2")]
    assert site1.index("Groups I lead") < site1.index("Group of site 1")
