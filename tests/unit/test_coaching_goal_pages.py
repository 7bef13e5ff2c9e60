"""A client's shared goals answer ``{"items", "next_cursor"}`` (architecture.md, API
conventions): oldest first, in pages a cursor continues where the page before ended (a client's
goals grow through treatment); a cursor the API never gives out is refused at the field."""

from __future__ import annotations

import pytest
from test_coaching_api import NOW, as_client, seed

from coaching.app import create_app
from dbt_shared.clock import FixedClock


@pytest.fixture
def api(api_env):
    return create_app(seed(FixedClock(NOW))).test_client()


def test_goals_come_oldest_first_in_pages_that_continue(api, auth):
    titles = [f"Goal {n}" for n in range(5)]
    for title in titles:
        made = api.post(
            "/v1/clients/client-1/goals", json={"title": title}, headers=as_client(auth)
        )
        assert made.status_code == 201, made.json
    pages, cursor = [], None
    while True:
        query = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        answer = api.get("/v1/clients/client-1/goals", query_string=query, headers=as_client(auth))
        assert answer.status_code == 200, answer.json
        assert set(answer.json) == {"items", "next_cursor"}
        pages.append([g["title"] for g in answer.json["items"]])
        cursor = answer.json["next_cursor"]
        if cursor is None:
            break
        assert len(pages) < 10, "the cursor does not move on"
    assert pages == [titles[0:2], titles[2:4], titles[4:]]


def test_a_cursor_the_api_never_gave_out_is_refused_at_the_field(api, auth):
    answer = api.get(
        "/v1/clients/client-1/goals", query_string={"cursor": "zz!"}, headers=as_client(auth)
    )
    assert answer.status_code == 422 and answer.content_type == "application/problem+json"
    assert any(e.get("field") == "cursor" for e in answer.json["errors"]), answer.json
