"""``GET /v1/groups`` without a site: the groups of every site of the caller's in one answer (a
console page's one call, not one per site), another site's groups never among them."""

from __future__ import annotations

import pytest
from test_skills_services import OTHER_SITE, SITE, seeded

from skills_group.app import create_app


def _group(gid: str, site_id: str) -> dict:
    return {
        "_id": gid,
        "site_id": site_id,
        "program_id": f"{site_id}:adult",
        "name": gid,
        "weekday": "tue",
        "start_time": "18:00",
        "duration_minutes": 150,
        "room": "Room 2",
        "facilitator_ids": ["ana", "ben"],
        "starts_on": "2027-01-05",
        "cycles": 1,
    }


@pytest.fixture
def client(api_env, clock):
    components = seeded(clock)
    for gid, site_id in (("g-a1", SITE), ("g-a2", SITE), ("g-b1", OTHER_SITE)):
        components.repositories.groups.insert(_group(gid, site_id))
    return create_app(components).test_client()


def _ids(answer) -> list[str]:
    assert answer.status_code == 200, answer.json
    return [g["id"] for g in answer.json["items"]]


def test_site_staff_get_their_sites_groups_only(client, auth):
    assert _ids(client.get("/v1/groups", headers=auth("facilitator", SITE))) == ["g-a1", "g-a2"]
    both = auth("coordinator", [SITE, OTHER_SITE])
    assert _ids(client.get("/v1/groups", headers=both)) == ["g-a1", "g-a2", "g-b1"]


def test_an_operator_gets_every_sites_groups_and_a_limit_bounds_the_answer(client, auth):
    assert _ids(client.get("/v1/groups", headers=auth("operator"))) == ["g-a1", "g-a2", "g-b1"]
    assert _ids(client.get("/v1/groups?limit=2", headers=auth("operator"))) == ["g-a1", "g-a2"]


def test_one_site_named_still_answers_that_site_or_404_for_another(client, auth):
    named = client.get(f"/v1/groups?site_id={OTHER_SITE}", headers=auth("operator"))
    assert _ids(named) == ["g-b1"]
    refused = client.get(f"/v1/groups?site_id={OTHER_SITE}", headers=auth("facilitator", SITE))
    assert refused.status_code == 404


def test_a_limit_out_of_bounds_names_the_field(client, auth):
    answer = client.get("/v1/groups?limit=100000", headers=auth("operator"))
    assert answer.status_code == 422
    assert "limit" in str(answer.json)
