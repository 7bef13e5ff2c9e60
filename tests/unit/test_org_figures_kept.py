"""The organisation overview's waitlist figures (every site's moments of receipt: a large read)
are kept while the overview is in use: a view is answered at once, with figures read at most
``FIGURES_REFRESH_S`` ago (again in the background after that), and never older than
``figures_ttl_s``; a site's own figures (a queue page) are read each time."""

from __future__ import annotations

import time

import pytest
from test_org_figures_intake import add_site, by_site, refer

from dbt_shared import remembered
from intake import bootstrap, repository
from intake.app import create_app


@pytest.fixture
def components(clock):
    return bootstrap.in_memory(clock)


def _settled(c) -> None:
    deadline = time.perf_counter() + 5
    while c.repositories._organisation_seen._loading and time.perf_counter() < deadline:
        time.sleep(0.001)


def test_the_overview_figures_are_kept_while_in_use_and_read_again_behind(
    api_env, auth, components
):
    moment = [0.0]
    components.repositories._organisation_seen = remembered.Remembered(
        60.0, refresh_after_s=repository.FIGURES_REFRESH_S, now=lambda: moment[0]
    )
    client = create_app(components).test_client()
    operator = auth(["operator"], [], "op")
    site = add_site(client, operator, "North")
    refer(client, operator, site)

    def waiting(path: str = "/v1/waitlist-figures") -> int:
        answer = client.get(path, headers=operator)
        assert answer.status_code == 200, answer.json
        return by_site(answer)[site]["programs"][0]["waiting"]

    assert waiting() == 1
    refer(client, operator, site)
    moment[0] = 5.0
    assert waiting() == 1  # kept: read 5 s ago
    assert waiting(f"/v1/waitlist-figures?site_id={site}") == 2  # a site's own: read now
    moment[0] = 11.0
    assert waiting() == 1  # answered at once, read again behind the answer
    _settled(components)
    assert waiting() == 2
    refer(client, operator, site)
    moment[0] = 80.0  # unused for over a minute: read before the answer
    assert waiting() == 3
