"""A retried ``POST /v1/referrals`` under one ``Idempotency-Key``: the first answer, one referral.

On intake's in-memory wiring (``bootstrap.in_memory``), whose ``idempotency`` keeps the keys in
an ``InMemoryIdempotencyKeys`` (the MongoDB one is covered on the real server in
``tests/integration/test_referral_path_on_ferretdb.py``). A first request that dies after it
reserved its key (before or after the referral was written) leaves the reservation: the retry
creates the referral under the reserved id, once.
"""

from __future__ import annotations

import pytest
from bench.referral_path import Intake as TracedIntake
from bench.referral_path import intake_of, trace_post_and_replay

from support import referral_body


@pytest.fixture
def wired(api_env, clock):
    from intake import bootstrap
    from intake.app import create_app

    components = bootstrap.in_memory(clock)
    intake = intake_of(create_app(components), warm=0)  # as the real-server test arranges it
    return components, intake.app, intake.app.test_client(), intake.site_id, intake.coordinator


def body(site_id: str) -> dict:
    return referral_body(site_id, preferred_channel="sms", language="es")


class DiesOnce:
    """Stands in for a process killed at one step of the first request (the step raises once:
    the request answers 500 and leaves what it wrote so far)."""

    def __init__(self, step):
        self.step, self.died = step, False

    def __call__(self, *args, **kwargs):
        if not self.died:
            self.died = True
            raise RuntimeError("killed")
        return self.step(*args, **kwargs)


def test_a_retry_gets_the_first_answer_and_creates_one_referral(wired):
    components, _app, client, site, coordinator = wired
    headers = {**coordinator, "Idempotency-Key": "refer-once"}

    first = client.post("/v1/referrals", json=body(site), headers=headers)
    retry = client.post("/v1/referrals", json=body(site), headers=headers)

    assert first.status_code == retry.status_code == 201
    assert retry.json == first.json and retry.headers["Location"] == first.headers["Location"]
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert list(components.repositories.referrals.documents) == [first.json["id"]]
    # the replay showed the client's details again: audited before it went
    assert components.repositories.audit.actions()[-2:] == [
        "referral.create",
        "referral.create_replayed",
    ]
    stored = next(iter(components.idempotency.keys.records.values()))
    assert "Marisol" not in stored["body"], "the kept answer is sealed at rest"


@pytest.mark.parametrize("dies_at", ["before the referral is written", "after it is written"])
def test_a_first_request_that_died_after_reserving_its_key_creates_one_referral(wired, dies_at):
    components, _app, client, site, coordinator = wired
    repositories, keys = components.repositories, components.idempotency.keys
    if dies_at == "before the referral is written":
        repositories.add_referral = DiesOnce(repositories.add_referral)
    else:  # written, but the answer never kept
        keys.keep_answer = DiesOnce(keys.keep_answer)
    headers = {**coordinator, "Idempotency-Key": "refer-once"}

    died = client.post("/v1/referrals", json=body(site), headers=headers)
    (reserved,) = [dict(record) for record in keys.records.values()]
    retry = client.post("/v1/referrals", json=body(site), headers=headers)
    again = client.post("/v1/referrals", json=body(site), headers=headers)

    assert died.status_code == 500 and reserved["state"] == "processing"
    assert retry.status_code == 201 and retry.json["id"] == reserved["resource_id"]
    assert list(repositories.referrals.documents) == [reserved["resource_id"]]
    assert again.json == retry.json and again.headers["Idempotent-Replayed"] == "true"


def test_the_same_key_with_another_body_is_refused_and_changes_nothing(wired):
    components, _app, client, site, coordinator = wired
    headers = {**coordinator, "Idempotency-Key": "refer-once"}
    client.post("/v1/referrals", json=body(site), headers=headers)
    other = body(site)
    other["client"]["given_name"] = "Ana"

    refused = client.post("/v1/referrals", json=other, headers=headers)

    assert refused.status_code == 422
    assert refused.json["errors"][0]["field"] == "Idempotency-Key"
    assert len(components.repositories.referrals.documents) == 1


def test_a_replay_calls_into_intake_only_through_what_its_view_handed_over(wired):
    """No climb back up: the shared protocol reaches intake's replay audit through the callable
    the view gave it (``idempotent(on_replay=...)``), not by looking it up in the app."""
    _components, app, _client, site, coordinator = wired

    first, replay = trace_post_and_replay(TracedIntake(app, coordinator, site))

    assert first.status == 201 and replay.status == 201
    assert first.climbs_back_up == [] and replay.climbs_back_up == []
    assert [c.callee for c in replay.climbs] == [
        "intake.api.common._idempotency",  # the keys, handed over as the view was decorated
        "intake.api.referrals._replayed",  # its replay's audit, too
    ]
