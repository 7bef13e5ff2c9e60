"""A site's coaching figures for the operators' overview (``GET /v1/sites/{id}/coaching-figures``):
a request whose acknowledgement deadline passes counts once as missed, however far it escalates,
for 7 days; another site's coordinator learns nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from coaching import bootstrap
from coaching.app import create_app
from coaching.services import directory, escalation
from dbt_shared.clock import FixedClock

SITE = "site-a"
PROGRAM = "prog-a"
NOW = datetime(2026, 3, 3, 23, 0, tzinfo=UTC)  # Tuesday 18:00 in New York: coaching hours
ROTA = {
    role: [
        {"clinician_id": cid, "weekday": d, "start": "17:00", "end": "24:00"}
        for d in ("mon", "tue", "wed", "thu", "fri")
    ]
    for role, cid in (("primary", "pat"), ("backup", "bea"))
}


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture
def components(clock):
    c = bootstrap.in_memory(clock)
    c.repositories.sites.insert({"_id": SITE, "timezone": "America/New_York"})
    settings = {"coaching_ack_target_minutes": 1, "twenty_four_hour_rule": True}
    c.repositories.programs.insert(
        {"_id": PROGRAM, "site_id": SITE, "kind": "adult", "settings": settings}
    )
    for cid in ("pat", "bea"):
        directory.on_clinician_registered(
            {"clinician_id": cid, "site_id": SITE, "subject": f"sub-{cid}", "roles": ["therapist"]},
            c,
        )
    directory.on_client_admitted(
        {
            "client_id": "client-1",
            "site_id": SITE,
            "program_id": PROGRAM,
            "therapist_id": "pat",
            "admitted_at": "2026-02-01T00:00:00+00:00",
        },
        c,
    )
    return c


@pytest.fixture
def api(api_env, components):
    return create_app(components).test_client()


def missed(api, headers) -> int:
    answer = api.get(f"/v1/sites/{SITE}/coaching-figures", headers=headers)
    assert answer.status_code == 200, answer.json
    return answer.json["missed_acknowledgements_7d"]


def test_a_missed_acknowledgement_counts_once_for_a_week(api, auth, components, clock):
    operator = auth("operator", [])
    api.put(f"/v1/sites/{SITE}/rota", json=ROTA, headers=auth("coordinator", SITE))
    client = auth("client", [], "client-1")
    assert (
        api.post("/v1/coaching-requests", json={"kind": "skills"}, headers=client).status_code
        == 201
    )
    assert missed(api, operator) == 0

    for _ in range(3):  # to the backup, then to the lead: one missed acknowledgement
        clock.advance(timedelta(minutes=1, seconds=1))
        escalation.escalate_due(components)

    assert missed(api, operator) == 1
    clock.advance(timedelta(days=7))
    assert missed(api, operator) == 0


def test_another_sites_coordinator_and_a_therapist_learn_nothing(api, auth):
    elsewhere = api.get(f"/v1/sites/{SITE}/coaching-figures", headers=auth("coordinator", "site-b"))
    therapist = api.get(f"/v1/sites/{SITE}/coaching-figures", headers=auth("therapist", SITE))

    assert (
        elsewhere.status_code in (403, 404) and "missed_acknowledgements_7d" not in elsewhere.json
    )
    assert therapist.status_code == 403
