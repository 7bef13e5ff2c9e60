"""One ``POST /v1/referrals`` on the real server (FerretDB locally), intake's real wiring.

The path from the view to storage and back passes through at most ten project modules, with no
climb back up from shared code into intake (how it is counted: ``tests/bench/referral_path.py``
and ``docs/referral-path.md``); a retry under the same ``Idempotency-Key`` gets the first answer
and the referral is stored once, also when the first request died after reserving the key.
"""

from __future__ import annotations

import uuid

import pytest
from bench.referral_path import QUIET_S, intake_env, intake_on, trace_post_and_replay

from dbt_shared.web import COMPONENTS_EXTENSION
from intake.repository import REFERRALS

MOST_MODULES = 10


@pytest.fixture
def intake(infra, topics, fresh_db, monkeypatch):
    for name, value in intake_env(infra.mongodb_uri, fresh_db.name, infra.kafka_bootstrap).items():
        monkeypatch.setenv(name, value)
    return intake_on(fresh_db)


def test_a_post_and_its_replay_pass_through_at_most_ten_modules_and_never_climb_back(intake):
    first, replay = trace_post_and_replay(intake, pause_s=QUIET_S)

    assert first.status == 201 and replay.status == 201
    for traced in (first, replay):
        assert len(traced.storage_path) <= MOST_MODULES, traced.storage_path
        assert traced.climbs_back_up == [], traced.climbs_back_up
    # it did reach storage through the repository: the count is of a real path
    assert {"intake.repository", "dbt_shared.idempotency"} <= set(first.storage_path)


class DiesOnce:
    """A process killed at one step of the first request: the step raises once."""

    def __init__(self, step):
        self.step, self.died = step, False

    def __call__(self, *args, **kwargs):
        if not self.died:
            self.died = True
            raise RuntimeError("killed")
        return self.step(*args, **kwargs)


def test_a_retry_after_the_first_request_died_creates_the_referral_once(intake, fresh_db):
    components = intake.app.extensions[COMPONENTS_EXTENSION]
    keys = components.idempotency.keys
    keys.keep_answer = DiesOnce(keys.keep_answer)  # the referral written, its answer never kept
    client, key = intake.app.test_client(), str(uuid.uuid4())

    died = intake.post(client, key=key)
    intake.posted -= 1  # the same body again
    retry = intake.post(client, key=key)
    intake.posted -= 1
    again = intake.post(client, key=key)

    assert died.status_code == 500
    assert retry.status_code == 201 and again.status_code == 201
    assert again.json == retry.json and again.headers["Idempotent-Replayed"] == "true"
    site_referrals = list(fresh_db[REFERRALS].find({"site_id": intake.site_id}, {"_id": 1}))
    warm_and_this = 2 + 1
    assert len(site_referrals) == warm_and_this
    assert retry.json["id"] in {r["_id"] for r in site_referrals}
    (kept,) = fresh_db["idempotency_keys"].find({"resource_id": retry.json["id"]})
    assert kept["state"] == "done" and "Path" not in kept["body"], "sealed at rest"
