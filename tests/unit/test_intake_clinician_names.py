"""``POST /v1/clinicians/display-names``: several clinicians' names and sign-in subjects in one
call, whatever their sites (a page of every group at the caller's sites names their leaders
once, not one clinician list per site); another site's clinicians are left out as unknown."""

from __future__ import annotations

import pytest

from dbt_shared.auth import Principal
from intake import bootstrap
from intake.app import create_app
from intake.services import organisation

SITES = ("site-1", "site-2")


@pytest.fixture
def client(api_env, clock):
    c = bootstrap.in_memory(clock)
    operator = Principal("olivia", frozenset({"operator"}), frozenset())
    for n, site_id in enumerate(SITES):
        organisation.register_site({"name": f"Site {n}", "timezone": "UTC"}, c, site_id)
        organisation.register_clinician(
            site_id,
            {"subject": f"sub-{n}", "display_name": f"Leader {n}", "roles": ["facilitator"]},
            c,
            operator,
            f"clin-{n}",
        )
    return create_app(c).test_client()


def _names(client, headers, ids):
    answer = client.post(
        "/v1/clinicians/display-names", json={"clinician_ids": ids}, headers=headers
    )
    assert answer.status_code == 200, answer.json
    return [(i["clinician_id"], i["display_name"], i["subject"]) for i in answer.json["items"]]


def test_every_site_of_the_callers_in_one_call_and_no_other(client, auth):
    ids = ["clin-1", "clin-0", "unknown"]
    both = auth("facilitator", list(SITES))
    assert _names(client, both, ids) == [
        ("clin-1", "Leader 1", "sub-1"),
        ("clin-0", "Leader 0", "sub-0"),
    ]
    assert _names(client, auth("facilitator", "site-1"), ids) == [("clin-0", "Leader 0", "sub-0")]
    assert len(_names(client, auth("operator"), ids)) == 2


def test_bad_input_names_the_field(client, auth):
    answer = client.post(
        "/v1/clinicians/display-names", json={"clinician_ids": []}, headers=auth("operator")
    )
    assert answer.status_code == 422
    assert "clinician_ids" in str(answer.json)
    refused = client.post(
        "/v1/clinicians/display-names", json={"clinician_ids": ["clin-0"]}, headers=auth("client")
    )
    assert refused.status_code == 403
