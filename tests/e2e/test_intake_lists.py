"""Intake's lists across the real processes: the waitlist oldest first, a coordinator of two sites
listing one, filters and pages; and the OpenAPI document of every endpoint.
"""

from __future__ import annotations

import uuid

import pytest
from e2e_intake_clinic import LOW_RISK, client_details, new_referral, set_up_clinic

from support import Api, wait_until


@pytest.fixture(scope="module")
def clinic(platform, tokens):
    return set_up_clinic(platform, tokens)


def test_waitlist_lists_who_waits_where_oldest_first(clinic):
    first, second = new_referral(clinic), new_referral(clinic)
    clinic["coordinator"].post(f"/v1/referrals/{second['id']}/screenings", json=LOW_RISK)
    waitlist = (
        clinic["coordinator"].get(f"/v1/waitlist?site_id={clinic['site_id']}&limit=200").json()
    )
    ids = [e["referral_id"] for e in waitlist["items"]]
    assert ids.index(first["id"]) < ids.index(second["id"])
    stages = {e["referral_id"]: e["stage"] for e in waitlist["items"]}
    assert stages[first["id"]] == "received" and stages[second["id"]] == "screening"
    assert all(e["waiting_days"] == 0 for e in waitlist["items"])
    assert "client" not in waitlist["items"][0]

    def counted() -> bool:  # a stage count is a moment behind on the other api worker
        answer = clinic["coordinator"].get(f"/v1/waitlist?site_id={clinic['site_id']}").json()
        counts = {s["stage"]: s["count"] for s in answer["stages"]}
        return counts["received"] >= 1 and counts["screening"] >= 1

    wait_until(counted, timeout=5, what="both stages counted")


def test_a_coordinator_of_two_sites_can_list_one_of_them(clinic, tokens):
    other_site = (
        clinic["operator"]
        .post(
            "/v1/sites",
            json={"name": "Second", "timezone": "UTC", "intake_email": "second@example.org"},
        )
        .json()["id"]
    )
    both = Api(
        clinic["profile"].api_url("intake"), tokens.coordinator(clinic["site_id"], other_site)
    )
    elsewhere = both.post(
        "/v1/referrals",
        json={
            "site_id": other_site,
            "program": "adult",
            "source": "self",
            "consent_to_contact": True,
            "client": client_details(uuid.uuid4().hex[:6]),
        },
    ).json()["id"]
    listed = both.get(f"/v1/referrals?site_id={clinic['site_id']}&limit=200").json()["items"]
    assert listed and {r["site_id"] for r in listed} == {clinic["site_id"]}
    assert elsewhere not in [r["id"] for r in listed]


def test_lists_filter_and_paginate(clinic):
    for _ in range(3):
        new_referral(clinic)
    coordinator = clinic["coordinator"]
    first_page = coordinator.get(
        f"/v1/referrals?site_id={clinic['site_id']}&status=received&limit=2"
    ).json()
    assert len(first_page["items"]) == 2 and first_page["next_cursor"]
    assert all(item["status"] == "received" for item in first_page["items"])
    second_page = coordinator.get(
        f"/v1/referrals?site_id={clinic['site_id']}&status=received&limit=2"
        f"&cursor={first_page['next_cursor']}"
    ).json()
    assert not {i["id"] for i in first_page["items"]} & {i["id"] for i in second_page["items"]}
    assert coordinator.get("/v1/referrals?cursor=nonsense").status_code == 422


def test_the_openapi_document_describes_every_endpoint_with_examples(platform):
    spec = Api(platform.profile.api_url("intake")).get("/openapi.json").json()
    expected = {
        ("/v1/sites", "post"),
        ("/v1/sites/{site_id}/programs", "post"),
        ("/v1/sites/{site_id}/programs/{program_id}", "patch"),
        ("/v1/sites/{site_id}/clinicians", "post"),
        ("/v1/referrals", "post"),
        ("/v1/referrals", "get"),
        ("/v1/referrals/{referral_id}", "patch"),
        ("/v1/referrals/{referral_id}/screenings", "post"),
        ("/v1/referrals/{referral_id}/eligibility", "post"),
        ("/v1/referrals/{referral_id}/orientation", "post"),
        ("/v1/referrals/{referral_id}/commitment", "post"),
        ("/v1/referrals/{referral_id}/therapist", "post"),
        ("/v1/referrals/{referral_id}/admission", "post"),
        ("/v1/referrals/{referral_id}/withdrawal", "post"),
        ("/v1/waitlist", "get"),
        ("/v1/clients/{client_id}/contact", "get"),
        ("/v1/audit", "get"),
    }
    verbs = {"get", "post", "patch", "put", "delete"}
    documented = {(p, m) for p, ops in spec["paths"].items() for m in ops if m in verbs}
    assert expected <= documented
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if method not in verbs:
                continue
            assert op.get("summary"), f"{method} {path} has no summary"
            assert "default" in op["responses"], f"{method} {path} documents no problem response"
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                assert "example" in body, f"{method} {path} has no request example"
    problem = spec["components"]["responses"]["DEFAULT_ERROR"]["content"]
    assert "application/problem+json" in problem
