"""Skills-group's organisation-wide figures (``GET /v1/group-figures``: per site and program,
seats filled and free now, members at risk, every site in one call) and the list behind the
at-risk figure (``GET /v1/sites/{id}/members-at-risk``, audited naming each client)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from test_skills_services import (
    COORDINATOR,
    FACILITATOR,
    NOW,
    OTHER_SITE,
    PROGRAM,
    SITE,
    admit,
    group_body,
    seeded,
)

from dbt_shared.clock import FixedClock
from skills_group import services
from skills_group.app import create_app


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture
def components(clock):
    c = seeded(clock)  # two seats a group, a limit of 4 misses in a row
    group = services.create_group(group_body(), c, COORDINATOR)
    for client_id in ("c1", "c2", "c3"):  # two placed, one waits
        admit(c, client_id)
    for week in range(3):  # c1 misses three in a row: one miss from the limit
        session = services.list_sessions(group["_id"], {}, c, COORDINATOR)[week]
        clock._now = session["starts_at"] + timedelta(minutes=5)
        records = [
            {"client_id": "c1", "status": "absent"},
            {"client_id": "c2", "status": "present"},
        ]
        services.record_attendance(session["_id"], {"records": records}, c, FACILITATOR)
    return c


@pytest.fixture
def client(api_env, components):
    return create_app(components).test_client()


def by_site(answer) -> dict[str, dict]:
    assert answer.status_code == 200, answer.json
    return {row["site_id"]: row for row in answer.json["items"]}


def test_every_site_in_one_call_with_seats_filled_free_and_at_risk(client, auth):
    rows = by_site(client.get("/v1/group-figures", headers=auth("operator", [])))

    assert set(rows) == {SITE, OTHER_SITE}
    [program] = rows[SITE]["programs"]
    assert (program["program_id"], program["program"], program["groups"]) == (PROGRAM, "adult", 1)
    assert (program["seats"], program["filled"], program["free"]) == (2, 2, 0)
    assert program["at_risk"] == 1
    assert (rows[SITE]["seats"], rows[SITE]["at_risk"]) == (2, 1)
    assert rows[OTHER_SITE] == {
        "site_id": OTHER_SITE,
        "seats": 0,
        "filled": 0,
        "free": 0,
        "at_risk": 0,
        "programs": [],
    }


def test_a_coordinator_sees_only_their_sites_and_a_facilitator_nothing(client, auth):
    seen = by_site(client.get("/v1/group-figures", headers=auth("coordinator", OTHER_SITE)))
    refused = client.get("/v1/group-figures", headers=auth("facilitator", SITE))

    assert set(seen) == {OTHER_SITE}
    assert refused.status_code == 403


def test_the_members_at_risk_behind_the_figure_audited_with_each_client(client, auth, components):
    listed = client.get(f"/v1/sites/{SITE}/members-at-risk", headers=auth("operator", []))
    elsewhere = client.get(
        f"/v1/sites/{SITE}/members-at-risk", headers=auth("coordinator", OTHER_SITE)
    )

    assert listed.status_code == 200, listed.json
    assert [m["client_id"] for m in listed.json["items"]] == ["c1"]
    assert listed.json["items"][0]["group_name"] == "Tuesday evening"
    [record] = [e for e in components.repositories.audit.entries if e["action"] == "at_risk.list"]
    assert record["object_ids"] == ["c1"]
    assert elsewhere.status_code == 404 and "items" not in elsewhere.json
