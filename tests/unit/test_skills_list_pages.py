"""Skills-group's lists answer ``{"items", "next_cursor"}`` (architecture.md, API conventions):
the lists that grow (groups, the waitlists, the overview) in pages a cursor continues where the
page before ended; the bounded ones (a group's calendar, its enrollments, a session's roster, a
site's closures) whole, with ``next_cursor`` null."""

from __future__ import annotations

from datetime import timedelta

import pytest
from test_skills_services import COORDINATOR, NOW, OTHER_SITE, PROGRAM, SITE, group_body, seeded

from dbt_shared.clock import FixedClock
from skills_group import services
from skills_group.app import create_app

EVENINGS = [{"weekday": "tue", "start": "17:00", "end": "22:00"}]


def _admit(c, client_id: str, hours_ago: int) -> None:
    services.on_client_admitted(
        {
            "client_id": client_id,
            "referral_id": client_id,
            "site_id": SITE,
            "program_id": PROGRAM,
            "program": "adult",
            "therapist_id": "ther-1",
            "availability": EVENINGS,
            "admitted_at": NOW - timedelta(hours=hours_ago),
        },
        c,
    )


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture
def c(clock):
    components = seeded(clock, capacity=1)
    group = services.create_group(group_body(), components, COORDINATOR)
    components.group = group
    # the seat goes to the first admitted; the others wait, oldest admission first ("w-0" and
    # "w-1" admitted at the same moment: their ids break the tie)
    _admit(components, "seated", 50)
    for client_id, hours_ago in (("w-3", 10), ("w-0", 40), ("w-1", 40), ("w-2", 20)):
        _admit(components, client_id, hours_ago)
    for gid, site_id in (("g-a1", SITE), ("g-b1", OTHER_SITE), ("g-b2", OTHER_SITE)):
        stored = {
            **group_body(site_id=site_id, program_id=f"{site_id}:adult", capacity=2),
            "_id": gid,
            "starts_on": "2027-01-05",
            "curriculum": group["curriculum"],  # as every stored group has it (its plan)
        }
        components.repositories.groups.insert(stored)
    return components


@pytest.fixture
def http(api_env, c):
    return create_app(c).test_client()


def _pages(http, path: str, headers, key: str, limit: int, **query) -> list[list[str]]:
    """Every page of a list, following ``next_cursor``, as the values of ``key`` per page."""
    pages, cursor = [], None
    while True:
        params = {**query, "limit": limit} | ({"cursor": cursor} if cursor else {})
        answer = http.get(path, query_string=params, headers=headers)
        assert answer.status_code == 200, answer.json
        assert set(answer.json) == {"items", "next_cursor"}
        pages.append([item[key] for item in answer.json["items"]])
        cursor = answer.json["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 10, "the cursor does not move on"


def test_the_groups_of_every_site_come_in_pages_the_cursor_continues_across_sites(c, http, auth):
    operator = auth("operator")
    pages = _pages(http, "/v1/groups", operator, "id", limit=2)
    every = [gid for page in pages for gid in page]
    assert [len(p) for p in pages] == [2, 2]
    assert every == [c.group["_id"], "g-a1", "g-b1", "g-b2"]  # site by site, each in id order
    one_site = _pages(http, "/v1/groups", operator, "id", limit=1, site_id=OTHER_SITE)
    assert one_site == [["g-b1"], ["g-b2"]]


def test_the_waitlist_comes_longest_waiting_first_in_pages_that_continue(http, auth):
    coordinator = auth("coordinator", SITE)
    assert _pages(http, "/v1/waitlist", coordinator, "client_id", limit=3, site_id=SITE) == [
        ["w-0", "w-1", "w-2"],
        ["w-3"],
    ]


def test_a_groups_waitlist_comes_in_pages_that_continue(c, http, auth):
    coordinator = auth("coordinator", SITE)
    path = f"/v1/groups/{c.group['_id']}/waitlist"
    pages = _pages(http, path, coordinator, "client_id", limit=2)
    assert pages == [["w-0", "w-1"], ["w-2", "w-3"]]


def test_the_overview_comes_in_pages_of_rows_by_site_and_program(c, http, auth):
    pages = _pages(http, "/v1/overview", auth("operator"), "site_id", limit=1)
    assert pages == [[SITE], [OTHER_SITE]]


def test_bounded_lists_answer_whole_with_a_null_cursor(c, http, auth):
    coordinator = auth("coordinator", SITE)
    gid = c.group["_id"]
    sessions = http.get(f"/v1/groups/{gid}/sessions", headers=coordinator).json
    assert len(sessions["items"]) == 24 and sessions["next_cursor"] is None
    enrollments = http.get(f"/v1/groups/{gid}/enrollments", headers=coordinator).json
    assert [e["client_id"] for e in enrollments["items"]] == ["seated"]
    assert enrollments["next_cursor"] is None
    roster = http.get(f"/v1/sessions/{sessions['items'][0]['id']}/roster", headers=coordinator)
    assert roster.json == {"items": roster.json["items"], "next_cursor": None}
    assert [r["client_id"] for r in roster.json["items"]] == ["seated"]
    closures = http.get(f"/v1/sites/{SITE}/closures", headers=coordinator).json
    assert closures == {"items": [], "next_cursor": None}


@pytest.mark.parametrize(
    "path",
    ["/v1/groups", "/v1/waitlist", "/v1/overview", "/v1/groups/{gid}/waitlist"],
)
def test_a_cursor_this_api_never_gives_out_is_refused_at_the_field(c, http, auth, path):
    answer = http.get(
        path.format(gid=c.group["_id"]),
        query_string={"cursor": "not a cursor!", "site_id": SITE},
        headers=auth("operator"),
    )
    assert answer.status_code == 422
    assert answer.content_type == "application/problem+json"
    assert any(e.get("field") == "cursor" for e in answer.json.get("errors", [])), answer.json
