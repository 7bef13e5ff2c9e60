"""The coordinator's queue in the console on in-memory wiring: their site's referrals oldest first,
one stage with the days waited and the counts from the site's figures, clients named with one
call for the page.

The services' HTTP is faked (console.testing.FakeServices); the service client is the real
one. The sites and the referral are in ``console_pages_support``, the signed-in clients in
``console_page_fixtures``."""

# ruff: noqa: F811 (the tests take the fixtures imported from console_page_fixtures)
from __future__ import annotations

from console_page_fixtures import client, coordinator, operator, provider, services  # noqa: F401
from console_pages_support import REFERRAL_ID, text, title


# -- coordinator ------------------------------------------------------------------------------
def waitlist(q, b):
    return {
        "site_id": q["site_id"],
        "stages": [{"stage": "received", "count": 1}, {"stage": "screening", "count": 1}],
        "items": [
            {
                "referral_id": REFERRAL_ID,
                "program": "adult",
                "stage": "screening",
                "waiting_days": 33,
            }
        ],
    }


def test_the_coordinator_starts_at_the_queue_of_their_site_oldest_first(coordinator, services):
    services.on("GET", "intake", "/v1/waitlist", waitlist)
    page = coordinator.get("/home", follow_redirects=True)
    shown = text(page)
    assert "Referrals" in title(page)
    assert "All waiting (2)" in shown and "Screening (1)" in shown
    assert f"{REFERRAL_ID} Adult Screening 33" in shown
    assert [c["params"]["site_id"] for c in services.calls if c["path"] == "/v1/waitlist"] == [
        "site-north"
    ]


def site_figures(q, b):
    stages = [{"stage": "received", "count": 1}, {"stage": "screening", "count": 1}]
    return {
        "items": [
            {
                "site_id": q["site_id"],
                "programs": [
                    {"program": "adult", "stages": stages},
                    {"program": "adolescent", "stages": [{"stage": "screening", "count": 2}]},
                ],
            }
        ]
    }


def staged(**fields) -> dict:
    """intake's one-stage list: one referral in screening, received on 1 February."""
    item = {
        "id": REFERRAL_ID,
        "program": "adult",
        "status": "screening",
        "received_at": "2026-02-01T10:00:00+00:00",
        **fields,
    }
    return {"items": [item], "next_cursor": None}


def test_a_stage_of_the_queue_lists_that_stage_with_the_days_waited(coordinator, services, clock):
    services.on("GET", "intake", "/v1/waitlist", waitlist)
    services.on("GET", "intake", "/v1/waitlist-figures", site_figures)
    services.on("GET", "intake", "/v1/referrals", staged(source="GP"))
    page = coordinator.get("/referrals?site=site-north&stage=screening")
    # received on 1 February, seen on 3 March (the fixed clock): 30 days
    assert f"{REFERRAL_ID} Adult Screening 30" in text(page)
    fragment = coordinator.get(
        "/referrals?site=site-north&stage=screening", headers={"HX-Request": "true"}
    )
    assert fragment.get_data(as_text=True).lstrip().startswith('<div id="queue">')
    assert "<html" not in fragment.get_data(as_text=True)


def test_a_stage_of_the_queue_counts_the_stages_from_the_sites_figures_not_a_waitlist_page(
    coordinator, services
):
    """One stage's queue shows every stage's count (all programs added up) from intake's kept
    figures of the site: it does not read a page of the whole waitlist it does not show."""
    services.on("GET", "intake", "/v1/waitlist", waitlist)
    services.on("GET", "intake", "/v1/waitlist-figures", site_figures)
    services.on("GET", "intake", "/v1/referrals", {"items": [], "next_cursor": None})

    shown = text(coordinator.get("/referrals?site=site-north&stage=screening"))

    assert "Screening (3)" in shown and "Received (1)" in shown
    assert [c["params"] for c in services.calls if c["path"] == "/v1/waitlist-figures"] == [
        {"site_id": "site-north"}
    ]
    assert not [c for c in services.calls if c["path"] == "/v1/waitlist"]


def test_the_queue_names_its_clients_with_one_call_for_the_page(coordinator, services):
    services.on("GET", "intake", "/v1/waitlist", waitlist)
    services.on(
        "POST",
        "intake",
        "/v1/clients/display-names",
        lambda q, body: {
            "items": [{"client_id": i, "display_name": "Alex Rivera"} for i in body["client_ids"]]
        },
    )
    page = coordinator.get("/referrals")
    assert f"{REFERRAL_ID} Alex Rivera Adult Screening 33" in text(page)
    assert "Alex" not in title(page)
    lookups = [c for c in services.calls if c["path"] == "/v1/clients/display-names"]
    assert [c["body"] for c in lookups] == [{"client_ids": [REFERRAL_ID]}]


def test_the_waitlist_shows_the_names_intake_gave_it_without_a_second_call(coordinator, services):
    def named(q, b):
        answer = waitlist(q, b)
        answer["items"][0]["display_name"] = "Alex Rivera"
        return answer

    services.on("GET", "intake", "/v1/waitlist", named)
    page = coordinator.get("/referrals")
    assert f"{REFERRAL_ID} Alex Rivera Adult Screening 33" in text(page)
    assert not [c for c in services.calls if c["path"] == "/v1/clients/display-names"]


def test_a_stage_of_the_queue_shows_the_names_intake_gave_it_without_a_second_call(
    coordinator, services
):
    services.on("GET", "intake", "/v1/waitlist-figures", site_figures)
    services.on("GET", "intake", "/v1/referrals", staged(display_name="Alex Rivera"))
    page = coordinator.get("/referrals?site=site-north&stage=screening")
    assert f"{REFERRAL_ID} Alex Rivera Adult Screening 30" in text(page)
    assert not [c for c in services.calls if c["path"] == "/v1/clients/display-names"]
