"""Intake operations the staff console's workflows need, over HTTP on the in-memory wiring:
an operator edits a site (and the other services' read models of sites follow its time zone)."""

from __future__ import annotations

from typing import Any

import pytest

from dbt_shared import site_directory
from dbt_shared.contracts import intake as contract
from dbt_shared.events.handling import HandlerContext
from intake import bootstrap
from intake.app import create_app
from support import referral_body

SITE = {
    "name": "Riverside",
    "timezone": "America/Chicago",
    "intake_email": "i@r.example",
    "clinical_lead": {"name": "Dr. Lee", "email": "lead@r.example"},
}


@pytest.fixture
def components(clock):
    return bootstrap.in_memory(clock)


@pytest.fixture
def client(api_env, components):
    return create_app(components).test_client()


@pytest.fixture
def operator(auth):
    return auth(["operator"], [], "op")


@pytest.fixture
def site_id(client, operator) -> str:
    created = client.post("/v1/sites", json=SITE, headers=operator)
    assert created.status_code == 201, created.json
    return created.json["id"]


def site_events(components, type_: str) -> list:
    return [e for e in components.repositories.sites.events if e.type == type_]


# -- editing a site ----------------------------------------------------------------------------
def test_an_operator_changes_a_sites_name_and_time_zone_and_keeps_the_rest(
    client, operator, site_id, components
):
    changed = client.patch(
        f"/v1/sites/{site_id}",
        json={"name": "Riverside East", "timezone": "America/Denver"},
        headers=operator,
    )

    assert changed.status_code == 200, changed.json
    read = client.get(f"/v1/sites/{site_id}", headers=operator).json
    assert (read["name"], read["timezone"]) == ("Riverside East", "America/Denver")
    assert read["intake_email"] == "i@r.example"
    assert read["clinical_lead"]["name"] == "Dr. Lee"
    assert read["phone_region"] == "US"  # not moved by the new zone
    (event,) = site_events(components, contract.SITE_UPDATED)
    assert event.data["timezone"] == "America/Denver"
    assert sorted(event.data["changed"]) == ["name", "timezone"]
    assert "Riverside East" not in str(event.data)  # the values stay in intake


def test_a_site_edit_that_changes_nothing_records_no_event(client, operator, site_id, components):
    same = client.patch(f"/v1/sites/{site_id}", json={"name": "Riverside"}, headers=operator)

    assert same.status_code == 200
    assert site_events(components, contract.SITE_UPDATED) == []


def test_the_clinical_lead_is_changed_with_its_number_in_e164_or_removed(client, operator, site_id):
    lead = {"name": "Dr. Kim", "email": "kim@r.example", "phone": "312 555 0110"}
    changed = client.patch(f"/v1/sites/{site_id}", json={"clinical_lead": lead}, headers=operator)
    assert changed.status_code == 200, changed.json
    assert changed.json["clinical_lead"]["phone"] == "+13125550110"

    removed = client.patch(f"/v1/sites/{site_id}", json={"clinical_lead": None}, headers=operator)
    assert removed.status_code == 200 and removed.json["clinical_lead"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"name": ""}, "name"),
        ({"phone_region": "ZZ"}, "phone_region"),
        ({"intake_email": "not an address"}, "intake_email"),
        ({}, "_schema"),
    ],
)
def test_a_bad_site_edit_names_the_field_and_changes_nothing(
    client, operator, site_id, body, field
):
    refused = client.patch(f"/v1/sites/{site_id}", json=body, headers=operator)

    assert refused.status_code == 422
    assert field in [e["field"] for e in refused.json["errors"]]
    read = client.get(f"/v1/sites/{site_id}", headers=operator).json
    assert (read["name"], read["timezone"]) == ("Riverside", "America/Chicago")


def test_only_operators_edit_sites(client, auth, site_id, operator):
    coordinator = auth(["coordinator"], [site_id], "co")

    refused = client.patch(f"/v1/sites/{site_id}", json={"name": "Mine"}, headers=coordinator)
    missing = client.patch("/v1/sites/no-such-site", json={"name": "X"}, headers=operator)

    assert refused.status_code == 403
    assert missing.status_code == 404


class _Sites:
    """The part of a MongoDB collection the site directory's handlers use (upserts by id)."""

    def __init__(self) -> None:
        self.documents: dict[str, dict[str, Any]] = {}

    def update_one(self, query: dict, update: dict, upsert: bool = False) -> None:
        found = self.documents.get(query["_id"])
        if found is None:
            if not upsert:
                return
            found = self.documents[query["_id"]] = {"_id": query["_id"], **update["$setOnInsert"]}
        found.update(update["$set"])


def test_every_services_read_model_of_sites_follows_a_new_time_zone(
    client, operator, site_id, components, clock
):
    client.patch(f"/v1/sites/{site_id}", json={"timezone": "Europe/Dublin"}, headers=operator)
    sites = _Sites()
    ctx = HandlerContext(db={site_directory.COLLECTION: sites}, clock=clock, service="coaching")

    for event in components.repositories.sites.events:  # in order, as the topic delivers them
        site_directory.HANDLERS[event.type](event, event.data, ctx)

    assert sites.documents[site_id]["timezone"] == "Europe/Dublin"


# -- the same person referred twice -------------------------------------------------------------
@pytest.fixture
def coordinator(auth, site_id):
    return auth(["coordinator"], [site_id], "coord")


def record(client, headers, site_id, **client_fields) -> dict:
    created = client.post(
        "/v1/referrals", json=referral_body(site_id, **client_fields), headers=headers
    )
    assert created.status_code == 201, created.json
    return created.json


def test_recording_the_same_person_again_names_their_open_referral(client, site_id, coordinator):
    first = record(client, coordinator, site_id)
    other = record(client, coordinator, site_id, given_name="Ana")

    again = record(client, coordinator, site_id, given_name="  MARISOL ", family_name="quintanilla")

    assert first["possible_duplicates"] == [] and other["possible_duplicates"] == []
    assert again["possible_duplicates"] == [first["id"]]


def test_a_person_is_told_apart_by_date_of_birth_and_by_site(
    client, site_id, coordinator, operator, auth
):
    first = record(client, coordinator, site_id)
    elsewhere = client.post("/v1/sites", json={**SITE, "name": "Lakeside"}, headers=operator).json
    there = auth(["coordinator"], [elsewhere["id"]], "coord2")

    born_later = record(client, coordinator, site_id, date_of_birth="1991-07-05")
    other_site = record(client, there, elsewhere["id"])

    assert born_later["possible_duplicates"] == []
    assert other_site["possible_duplicates"] == []
    assert first["id"] not in str(other_site)


def test_a_withdrawn_referral_is_no_duplicate(client, site_id, coordinator):
    first = record(client, coordinator, site_id)
    withdrawn = client.post(
        f"/v1/referrals/{first['id']}/withdrawal",
        json={"reason": "client_declined"},
        headers=coordinator,
    )
    assert withdrawn.status_code == 200, withdrawn.json

    assert record(client, coordinator, site_id)["possible_duplicates"] == []


def test_the_person_key_is_a_keyed_hash_not_the_details_nor_a_plain_hash(
    client, site_id, coordinator, components
):
    import hashlib

    first = record(client, coordinator, site_id)

    stored = components.repositories.referrals.get(first["id"])
    text = "marisol\x1fquintanilla\x1f1991-07-04"
    assert stored["person_key"] not in (hashlib.sha256(text.encode()).hexdigest(), text)
    assert "Marisol" not in str(stored) and "1991-07-04" not in str(stored)


def test_a_corrected_name_finds_the_person_under_their_new_name(client, site_id, coordinator):
    first = record(client, coordinator, site_id, given_name="Marisa")
    corrected = client.patch(
        f"/v1/referrals/{first['id']}",
        json={"client": {"given_name": "Marisol"}},
        headers=coordinator,
    )
    assert corrected.status_code == 200, corrected.json

    assert record(client, coordinator, site_id)["possible_duplicates"] == [first["id"]]


def duplicate_check(site_id: str, **person) -> dict:
    return {
        "site_id": site_id,
        "given_name": "marisol",
        "family_name": "QUINTANILLA",
        "date_of_birth": "1991-07-04",
        **person,
    }


def test_a_coordinator_checks_before_recording_and_the_check_is_audited(
    client, site_id, coordinator, operator, components
):
    first = record(client, coordinator, site_id)

    found = client.post("/v1/duplicate-checks", json=duplicate_check(site_id), headers=coordinator)
    none = client.post(
        "/v1/duplicate-checks",
        json=duplicate_check(site_id, given_name="Ana"),
        headers=coordinator,
    )

    assert found.status_code == 200
    assert found.json == {"site_id": site_id, "possible_duplicates": [first["id"]]}
    assert none.json["possible_duplicates"] == []
    checks = [
        e
        for e in components.repositories.audit.entries
        if e["action"] == "referral.duplicate_check"
    ]
    assert [(e["actor"], e["site_id"], e["object_ids"]) for e in checks] == [
        ("coord", site_id, [first["id"]]),
        ("coord", site_id, []),
    ]
    trail = client.get(f"/v1/audit?object_id={first['id']}", headers=operator)
    assert trail.status_code == 200  # the referral's trail shows the check that named it
    assert "referral.duplicate_check" in [r["action"] for r in trail.json["items"]]


def test_a_duplicate_check_is_refused_outside_the_callers_site_and_on_bad_input(
    client, site_id, coordinator, auth
):
    record(client, coordinator, site_id)
    elsewhere = auth(["coordinator"], ["another-site"], "other")
    therapist = auth(["therapist"], [site_id], "theo")

    other = client.post("/v1/duplicate-checks", json=duplicate_check(site_id), headers=elsewhere)
    by_therapist = client.post(
        "/v1/duplicate-checks", json=duplicate_check(site_id), headers=therapist
    )
    bad = client.post(
        "/v1/duplicate-checks",
        json=duplicate_check(site_id, date_of_birth="04/07/1991"),
        headers=coordinator,
    )

    assert other.status_code in (403, 404) and "possible_duplicates" not in other.json
    assert by_therapist.status_code == 403
    assert bad.status_code == 422 and [e["field"] for e in bad.json["errors"]] == ["date_of_birth"]


# -- several clients' display names for a list page ---------------------------------------------
def test_a_list_page_gets_its_clients_names_in_one_call_audited_once(
    client, site_id, coordinator, operator, components, auth
):
    marisol = record(client, coordinator, site_id)
    ana = record(client, coordinator, site_id, given_name="Ana", family_name="Ortiz")
    elsewhere = client.post("/v1/sites", json={**SITE, "name": "Lakeside"}, headers=operator).json
    theirs = record(client, auth(["coordinator"], [elsewhere["id"]], "c2"), elsewhere["id"])
    before = len(components.repositories.audit.entries)

    names = client.post(
        "/v1/clients/display-names",
        json={"client_ids": [ana["id"], theirs["id"], "no-such-client", marisol["id"]]},
        headers=coordinator,
    )

    assert names.status_code == 200
    assert names.json == {
        "items": [
            {"client_id": ana["id"], "display_name": "Ana Ortiz"},
            {"client_id": marisol["id"], "display_name": "Marisol Quintanilla"},
        ]
    }
    (audited,) = components.repositories.audit.entries[before:]
    assert audited["action"] == "client.display_names" and audited["site_id"] == site_id
    assert audited["object_ids"] == [ana["id"], marisol["id"]]
    trail = client.get(f"/v1/audit?object_id={ana['id']}", headers=operator).json["items"]
    assert "client.display_names" in [r["action"] for r in trail]


def test_a_therapist_gets_only_their_own_clients_names(client, site_id, coordinator, auth):
    marisol = record(client, coordinator, site_id)
    therapist = auth(["therapist"], [site_id], "theo")

    names = client.post(
        "/v1/clients/display-names", json={"client_ids": [marisol["id"]]}, headers=therapist
    )

    assert names.status_code == 200 and names.json == {"items": []}


@pytest.mark.parametrize(
    "body",
    [{"client_ids": []}, {"client_ids": [f"id-{n}" for n in range(101)]}, {"client_ids": ["a b"]}],
)
def test_display_names_take_one_to_a_hundred_ids(client, coordinator, body):
    refused = client.post("/v1/clients/display-names", json=body, headers=coordinator)

    assert refused.status_code == 422
    assert refused.json["errors"][0]["field"].startswith("client_ids")
